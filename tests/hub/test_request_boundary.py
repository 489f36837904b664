"""The request's transaction boundary (hub.transactions): an HTML view commits once when its
response is a success, a refusal rolls back everything the request wrote and shows on the form,
a transient database error re-runs the whole view, and a failing COMMIT is an error page with
nothing written and no success message left behind."""

from __future__ import annotations

import io
import sqlite3
import threading
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from hub.community import services as community
from hub.community.models import Answer
from hub.errors import ValidationFailed
from hub.extensions import db
from hub.imports import AdvocateImport
from hub.models import AuditEntry, Group
from hub.transactions import TRANSIENT_RETRIES
from rewards.models import Reward
from tests.support.isolation import running_inline_job

HX = {"HX-Request": "true"}


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture()
def failing_commits(app) -> Iterator[Callable[[int, str], list[int]]]:
    """Make the request's next `times` commits fail with `message` as the database reports it
    (SQLite's error, wrapped as SQLAlchemy wraps it); returns the list of the request's commit
    attempts. Hooked on the session's commit, so it works however the test's connection is
    wrapped; jobs run after a commit (on the in-process queue's thread, or inline under the
    rolled-back test transaction) are neither counted nor failed."""
    listeners = []
    request_thread = threading.get_ident()  # the test client runs requests on the test's thread

    def fail(times: int, message: str) -> list[int]:
        attempts: list[int] = []

        def before_commit(_session) -> None:
            if threading.get_ident() != request_thread or running_inline_job.get():
                return
            attempts.append(len(attempts) + 1)
            if len(attempts) <= times:
                raise OperationalError("COMMIT", None, sqlite3.OperationalError(message))

        event.listen(db.session, "before_commit", before_commit)
        listeners.append(before_commit)
        return attempts

    yield fail
    for listener in listeners:
        event.remove(db.session, "before_commit", listener)


def test_a_refusal_after_the_service_wrote_leaves_nothing_and_shows_on_the_form(as_role, app, tmp_path, monkeypatch):
    """The reward is created (row and audit entry flushed), then its image is refused: the
    whole request rolls back and the editor shows the reason under the image field."""
    manager_client = as_role("manager")
    monkeypatch.setitem(app.config, "VOUCH_UPLOAD_DIR", str(tmp_path))
    form = {
        "name": "Hoodie",
        "description": "Warm",
        "kind": "swag",
        "points_cost": "400",
        "stock": "10",
        "min_tier": "bronze",
        "per_advocate_limit": "",
        "active": "y",
        "image": (io.BytesIO(b"GIF89a" + b"\x00" * 20), "hoodie.png"),
    }
    response = manager_client.post("/admin/rewards/new", data=form, content_type="multipart/form-data")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="image-err"' in html and "PNG, JPEG or WebP" in html
    assert 'value="Hoodie"' in html  # the form comes back with what was typed
    assert count(Reward) == 0
    assert db.session.scalar(select(func.count()).where(AuditEntry.action.like("reward.%"))) == 0


def test_an_htmx_refusal_answers_200_and_still_writes_nothing(login, client, make, ctx, monkeypatch):
    """Refused htmx forms come back 200 (hub.htmx); the boundary rolls back on the refusal,
    not on the status, so the answer the service had already written is gone."""
    asker = make.advocate().user
    question = community.ask_question(asker, "Where are the SSO docs?", "Looking for SAML docs.")
    db.session.commit()
    real_post_answer = community.post_answer

    def post_then_refuse(author, question_id, body):
        real_post_answer(author, question_id, body)
        assert db.session.scalar(select(func.count()).select_from(Answer)) == 1  # written, flushed
        raise ValidationFailed({"body": "Refused after writing."})

    monkeypatch.setattr(community, "post_answer", post_then_refuse)
    login(client, make.advocate().user)
    response = client.post(f"/community/questions/{question.id}/answers", data={"body": "See the guide"}, headers=HX)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Refused after writing." in html and "<html" not in html
    assert "See the guide" in html  # the answer box keeps the text
    assert count(Answer) == 0


def test_a_transient_error_at_commit_reruns_the_view_once_more(as_role, failing_commits):
    manager_client = as_role("manager")
    attempts = failing_commits(1, "database is locked")
    response = manager_client.post("/admin/groups", data={"name": "EMEA", "description": "Europe"})
    assert response.status_code == 302
    assert attempts == [1, 2]
    assert db.session.scalars(select(Group.name)).all() == ["EMEA"]
    assert db.session.scalar(select(func.count()).where(AuditEntry.action == "group.create")) == 1
    page = manager_client.get("/admin/groups").get_data(as_text=True)
    assert page.count("Group created.") == 1  # the failed attempt's message was taken back


def test_a_rerun_reads_the_upload_again_from_its_first_byte(as_role, failing_commits):
    manager_client = as_role("manager")
    attempts = failing_commits(1, "database is locked")
    csv = "name,email\nAda Lovelace,ada@example.com\n"
    response = manager_client.post(
        "/admin/advocates/import",
        data={"file": (io.BytesIO(csv.encode()), "advocates.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert attempts == [1, 2]
    assert db.session.scalar(select(AdvocateImport.csv_text)) == csv  # one import stored, the whole file


def test_transient_errors_that_persist_answer_503_with_nothing_written(as_role, failing_commits):
    manager_client = as_role("manager")
    attempts = failing_commits(TRANSIENT_RETRIES, "database is locked")
    response = manager_client.post("/admin/groups", data={"name": "EMEA"})
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"
    assert len(attempts) == TRANSIENT_RETRIES
    assert count(Group) == 0


def test_a_failing_commit_is_an_error_page_without_partial_writes(as_role, failing_commits):
    manager_client = as_role("manager")
    failing_commits(1, "disk I/O error")
    response = manager_client.post("/admin/groups", data={"name": "EMEA"})
    assert response.status_code == 500
    assert "Request id" in response.get_data(as_text=True)
    assert count(Group) == 0
    assert db.session.scalar(select(func.count()).where(AuditEntry.action == "group.create")) == 0
    assert "Group created." not in manager_client.get("/admin/groups").get_data(as_text=True)
