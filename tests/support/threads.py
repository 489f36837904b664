"""Running work in threads released together, for the concurrency tests of every package (each
thread commits on its own connection: such tests are marked `multi_connection`)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Hashable


def run_together(n: int, work: Callable[[int], Hashable]) -> Counter:
    """Run `work(i)` for i in 0..n-1, each in its own thread, all released at once by a
    barrier; count what they return."""
    barrier = threading.Barrier(n)
    outcomes: Counter = Counter()
    lock = threading.Lock()

    def runner(i: int) -> None:
        barrier.wait()
        result = work(i)
        with lock:
            outcomes[result] += 1

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def committing(app, work: Callable[[int], Hashable], refused: tuple[type[Exception], ...] = ()) -> Callable:
    """`work(i)` in its own app context and transaction: committed when it returns; one of
    the `refused` domain errors rolls back and counts as its error code."""
    from hub.extensions import db

    def run(i: int) -> Hashable:
        with app.app_context():
            try:
                result = work(i)
                db.session.commit()
                return result
            except refused as exc:
                db.session.rollback()
                return exc.code
            finally:
                db.session.remove()

    return run


def run_committing(app, n: int, work: Callable[[int], Hashable], refused: tuple[type[Exception], ...] = ()) -> Counter:
    """Run `work(i)` in n threads released together, each committing its own transaction;
    count the outcomes (the result, or a refusal's error code)."""
    return run_together(n, committing(app, work, refused))
