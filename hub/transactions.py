"""The transaction boundary: one unit of work per request, job or command, committed once.

Services `flush()`; they never commit or roll back, and neither do views or forms. Where the
work ends, one boundary decides:

- **HTML views.** `hub.app.VouchFlask.dispatch_request` runs every view through `run_view`: the
  view's response is built, then the unit commits once when it is a success (status below 400)
  and rolls back otherwise. The commit happens inside dispatch, before the response leaves, so
  after-commit hooks (`hub.queue.enqueue_after_commit`, `call_after_commit`) fire first and a
  failing COMMIT becomes an error page rather than a success page over a lost write.
- **Refusals.** A service's `VouchError` propagates out of the view. When the view declared how
  it shows one (`refusal_renders`), the unit rolls back (nothing the request wrote survives, and
  messages it flashed are taken back) and the declared response is sent, never committed
  whatever its status: the form again with field errors (`hub.htmx.apply_errors`), an htmx
  partial with the message, or a flash and a redirect. Otherwise, and for any 403/404 refusal,
  the unit rolls back and the app's `VouchError` handler (`hub.errors`) shows the error page.
- **Transient database errors** (SQLite lock contention, PostgreSQL serialization failure or
  deadlock; `hub.errors.is_transient_db_error`) anywhere in a unit, COMMIT included, roll back
  and re-run the whole unit after a short randomized backoff, `TRANSIENT_RETRIES` attempts in
  all; then the error propagates and the request answers 503 (`Retry-After: 1`).
- **JSON API routes** (`hub.endpoints.endpoint`) run their units through the same
  `in_transaction` themselves, because an `Idempotency-Key` is claimed in a unit of its own
  before the work; they are marked `own_transaction` and the request boundary leaves them alone.
- **Jobs** (`hub.queue.job_context`) and **CLI commands** commit once where they end.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from flask import Response, current_app, request, session
from flask.globals import request_ctx
from flask.typing import ResponseReturnValue

from hub.errors import VouchError, is_transient_db_error
from hub.extensions import db

T = TypeVar("T")
V = TypeVar("V", bound=Callable)

TRANSIENT_RETRIES = 4
FLASHES = "_flashes"  # where flask.flash keeps pending messages in the session


def in_transaction(work: Callable[[], T], *, keep: Callable[[T], bool] = lambda _result: True) -> T:
    """Run `work()` as one unit: commit when `keep(result)` (always, by default), else roll back.

    A transient database error anywhere in it, the commit included, rolls back and runs the
    whole unit again, up to TRANSIENT_RETRIES attempts with backoff (20, 40, 80 ms plus up to
    20 ms of jitter), then propagates; any other exception rolls back and propagates.
    Returns what `work()` returned."""
    for attempt in range(TRANSIENT_RETRIES):
        try:
            result = work()
            if not keep(result):
                db.session.rollback()
            elif not nothing_to_commit():
                db.session.commit()
            return result
        except Exception as exc:
            db.session.rollback()
            if not is_transient_db_error(exc) or attempt == TRANSIENT_RETRIES - 1:
                raise
            time.sleep(0.02 * (2**attempt) + random.random() * 0.02)
    raise AssertionError("unreachable")


def nothing_to_commit() -> bool:
    """Whether the unit did nothing a commit would finish: no transaction began (no statement
    ran), no object was added, changed or deleted, and no job or after-commit call waits for the
    commit. A warm API leaderboard read is such a unit; committing it would only cost the
    session's empty commit machinery (issue 22). A unit that never used the session has none
    yet: that is nothing to commit too, and no session is made (and closed again) to say so."""
    from hub.queue import CALLBACKS_KEY, PENDING_KEY

    if not session_started():
        return True
    session = db.session()
    if session.in_transaction() or session.new or session.dirty or session.deleted:
        return False
    return not (session.info.get(PENDING_KEY) or session.info.get(CALLBACKS_KEY))


def session_started() -> bool:
    """Whether this scope (request, job) has made its SQLAlchemy session yet. A scope without
    one ran no statement, added nothing and queued no job or after-commit call (those live in
    the session's `info`): asking `db.session()` would only build a session to find it empty."""
    return bool(db.session.registry.has())


def retry_dropped(work: Callable[[], T]) -> T:
    """`work()`, run once more when its database connection was found dropped before anything it
    did could take effect (`retry_safe`, hub.db.mark_retry_safe); for reads made before a unit
    (`in_transaction` retries those itself), such as the API's token lookup. Returns `work()`'s
    result; any other error, or a second failure, propagates."""
    try:
        return work()
    except Exception as exc:
        if not getattr(exc, "retry_safe", False):
            raise
        db.session.rollback()
    return work()


def own_transaction(view: V) -> V:
    """Mark a view that runs its own units through `in_transaction` (the JSON API), so the
    request boundary does not wrap it in another."""
    view.own_transaction = True  # type: ignore[attr-defined]
    return view


def runs_own_transaction(view: Callable | None) -> bool:
    return bool(getattr(view, "own_transaction", False))


RefusalRenderer = Callable[..., ResponseReturnValue | None]

# Refusals that no form or partial can show: the row is unknown or not the caller's to touch.
ERROR_PAGE_STATUSES = frozenset({403, 404})


def refusal_renders(render: RefusalRenderer) -> Callable[[V], V]:
    """Declare how a view shows a refusal: `render(exc, **view_args)` gets the `VouchError`
    its service raised, after the request's unit rolled back, and returns the response (the
    form with `hub.htmx.apply_errors`, a partial with the message, a flash and a redirect), or
    None for the error page. It only reads; whatever it writes is rolled back. Place it under
    the route decorator, like the role decorators:

        @bp.route("/ask", methods=["GET", "POST"])
        @roles_required(*POSTERS)
        @refusal_renders(lambda exc: render_template("community/ask.html", form=apply_errors(QuestionForm(), exc)))
        def ask(): ...
    """

    def declare(view: V) -> V:
        view.render_refusal = render  # type: ignore[attr-defined]
        return view

    return declare


def is_success(response: Response) -> bool:
    return response.status_code < 400


def run_view(view: Callable, dispatch: Callable[[], ResponseReturnValue]) -> Response:
    """The request boundary for an HTML view: `dispatch()` runs the view, and its response is
    built in one unit (`in_transaction`) that commits when the response is a success and rolls
    back otherwise. A `VouchError` the view lets out is shown by the view's `refusal_renders`
    after a rollback (the unit then writes nothing, whatever the status); without one, or for a
    403/404, it propagates to the app's error page. Each re-run after a transient error starts
    from the request as it came in (uploads rewound, messages the failed attempt flashed taken
    back), and so does a refused or failed request: it flashes no success."""
    render = getattr(view, "render_refusal", None)
    before = _Flashes.now()
    attempts = 0
    refused = False

    def attempt() -> Response:
        nonlocal attempts, refused
        if attempts:
            before.restore()
            _rewind_uploads()
        attempts += 1
        refused = False
        try:
            return current_app.make_response(dispatch())
        except VouchError as exc:
            if render is None or exc.status in ERROR_PAGE_STATUSES:
                raise
            db.session.rollback()
            before.restore()
            shown = render(exc, **(request.view_args or {}))
            if shown is None:
                raise
            refused = True
            return current_app.make_response(shown)

    try:
        return in_transaction(attempt, keep=lambda response: is_success(response) and not refused)
    except BaseException:
        before.restore()
        raise


class _Flashes:
    """The flashed messages pending when the request began (in the session, or already taken
    by a template this request rendered), to put back when the request's unit is undone."""

    def __init__(self, pending: list | None, taken: list | None) -> None:
        self.pending, self.taken = pending, taken

    @classmethod
    def now(cls) -> _Flashes:
        # `in` does not mark the session accessed, so pages that never flash keep no Vary: Cookie.
        pending = list(session[FLASHES]) if FLASHES in session else None
        taken = request_ctx.flashes
        return cls(pending, None if taken is None else list(taken))

    def restore(self) -> None:
        if self.pending is not None:
            session[FLASHES] = list(self.pending)
        elif FLASHES in session:
            session.pop(FLASHES)
        request_ctx.flashes = None if self.taken is None else list(self.taken)


def _rewind_uploads() -> None:
    """A re-run reads uploaded files again from their first byte."""
    for _name, storage in request.files.items(multi=True):
        if storage.stream.seekable():
            storage.stream.seek(0)
