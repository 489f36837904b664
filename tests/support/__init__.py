"""Helpers shared by the tests of every package: import them from here (`tests.support.…`),
never from a `conftest` or a sibling test module.

- `environment`: the test settings, `build_app`, `migrate`, `clear_tables` and the per-worker
  names of the PostgreSQL database and Redis namespace.
- `isolation`: one test's database work inside an outer transaction rolled back at the end.
- `factories`: `Factory` (users, advocates, tokens), `ApiClient`, `log_in`.
- `threads`: work released together in threads (the concurrency tests).
- `challenges`, `rewards`, `attribution`: rows and invariant checks for those packages.
- `smtp`: a free local port.
"""
