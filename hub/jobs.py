"""Hub background jobs (RQ entry points)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, update

from hub.extensions import db
from hub.models import ApiToken
from hub.queue import job_context, job_timeout


@job_timeout(30)
def touch_api_token(token_id: int, used_at: str) -> None:
    """Record when an API token was last used. Idempotent: the time only moves forward."""
    at = dt.datetime.fromisoformat(used_at)
    with job_context():
        db.session.execute(
            update(ApiToken)
            .where(ApiToken.id == token_id, or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < at))
            .values(last_used_at=at)
        )


@job_timeout(60)
def send_password_reset_job(email: str) -> None:
    """The work behind /forgot: a reset link for the account with this email, if there is one.
    A retry after a failure may send a second link; each works once and expires on its own."""
    from hub.accounts import send_password_reset

    with job_context():
        send_password_reset(email)
