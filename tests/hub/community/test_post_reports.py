"""Issue 20, moderation: the author of a hidden post is told why; members report a post once
each (held by the database's unique keys), and the reports form a staff queue (dismiss / hide)
in the pages and the API."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from hub.community import services
from hub.community.models import PostReport, ReportStatus
from hub.errors import InvalidState, ValidationFailed
from hub.extensions import db
from hub.models import AuditEntry, Notification

HX = {"HX-Request": "true"}


@pytest.fixture()
def thread(make, ctx):
    asker = make.advocate(name="Asker Person").user
    answerer = make.advocate(name="Answer Person").user
    reader = make.advocate(name="Reader Person").user
    question = services.ask_question(asker, "Where are the SSO docs?", "Looking for **SAML** docs.")
    answer = services.post_answer(answerer, question.id, "Buy cheap watches at spam.example")
    db.session.commit()
    return {"asker": asker, "answerer": answerer, "reader": reader, "question": question.id, "answer": answer.id}


def _notes(user_id: int, kind: str) -> list[str]:
    return list(
        db.session.scalars(select(Notification.text).where(Notification.user_id == user_id, Notification.kind == kind))
    )


def test_the_author_of_a_hidden_post_is_told_why(make, thread):
    manager = make.user("manager")
    services.set_hidden(manager, "answer", thread["answer"], True, "Advertising is not allowed")
    db.session.commit()
    assert _notes(thread["answerer"].id, "post_hidden") == [
        'Your answer to "Where are the SSO docs?" was hidden by a community manager: Advertising is not allowed'
    ]
    services.set_hidden(manager, "answer", thread["answer"], False)  # shown again: no second "hidden" note
    db.session.commit()
    assert len(_notes(thread["answerer"].id, "post_hidden")) == 1


def test_a_member_reports_a_post_once_and_never_their_own(thread):
    services.report_post(thread["reader"], "answer", thread["answer"], "Spam link")
    db.session.commit()
    with pytest.raises(InvalidState, match="already reported"):
        services.report_post(thread["reader"], "answer", thread["answer"], "Still spam")
    with pytest.raises(InvalidState, match="your own"):
        services.report_post(thread["answerer"], "answer", thread["answer"], "Oops")
    with pytest.raises(ValidationFailed):
        services.report_post(thread["reader"], "question", thread["question"], "")
    db.session.rollback()
    # The same member may report the question as well: the keys are per post.
    services.report_post(thread["reader"], "question", thread["question"], "Off topic")
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(PostReport)) == 2


def test_the_database_refuses_a_second_report_by_the_same_member(thread):
    db.session.add(PostReport(answer_id=thread["answer"], reporter_id=thread["reader"].id, reason="One"))
    db.session.flush()
    db.session.add(PostReport(answer_id=thread["answer"], reporter_id=thread["reader"].id, reason="Two"))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    both = PostReport(question_id=thread["question"], answer_id=thread["answer"], reporter_id=thread["asker"].id)
    db.session.add(both)
    both.reason = "Both at once"
    with pytest.raises(IntegrityError):  # exactly one post per report (CHECK)
        db.session.flush()
    db.session.rollback()


def test_members_report_from_the_question_page_and_staff_hide_from_the_queue(make, login, client, app, thread):
    login(client, thread["reader"])
    page = client.get(f"/community/questions/{thread['question']}").get_data(as_text=True)
    assert "Report this answer" in page and "Report this question" in page
    sent = client.post(f"/community/answers/{thread['answer']}/report", data={"reason": "Spam link"})
    assert sent.status_code == 302
    after = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert "a community manager will look at this answer" in after and 'data-testid="reported"' in after
    again = client.post(f"/community/answers/{thread['answer']}/report", data={"reason": "Spam!"})
    assert "You already reported this answer." in client.get(again.headers["Location"]).get_data(as_text=True)
    voted = client.post(f"/community/answers/{thread['answer']}/upvote", headers=HX).get_data(as_text=True)
    assert 'data-testid="reported"' in voted  # the swapped card still knows it was reported
    other = app.test_client()
    login(other, thread["asker"])
    other.post(f"/community/answers/{thread['answer']}/report", data={"reason": "Spam too"})

    staff = app.test_client()
    login(staff, make.user("manager"))
    queue = staff.get("/admin/community/reports").get_data(as_text=True)
    assert queue.count('data-testid="report-row"') == 2 and "Spam link" in queue and "2 open reports" in queue
    first = db.session.scalar(select(PostReport.id).order_by(PostReport.id))
    hidden = staff.post(
        f"/admin/community/reports/{first}/hide", data={"reason": "Advertising is not allowed"}, headers=HX
    )
    html = hidden.get_data(as_text=True)
    assert hidden.status_code == 200 and "the author was told why" in html
    assert 'id="report-tabs" hx-swap-oob="true"' in html
    assert 'data-testid="count-open">0<' in html and 'data-testid="count-actioned">2<' in html
    assert _notes(thread["answerer"].id, "post_hidden")
    twice = staff.post(f"/admin/community/reports/{first}/dismiss", headers=HX).get_data(as_text=True)
    assert "already actioned" in twice
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "community.hide"))


def test_dismiss_leaves_the_post_up_and_the_queue_is_staff_only(make, login, client, app, thread):
    services.report_post(thread["reader"], "question", thread["question"], "I do not like it")
    db.session.commit()
    report_id = db.session.scalar(select(PostReport.id))
    login(client, thread["reader"])
    assert client.get("/admin/community/reports").status_code == 403
    assert client.post(f"/admin/community/reports/{report_id}/dismiss").status_code == 403
    staff = app.test_client()
    login(staff, make.user("manager"))
    done = staff.post(f"/admin/community/reports/{report_id}/dismiss")
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(PostReport, report_id).status is ReportStatus.DISMISSED
    assert "No reports waiting" in staff.get("/admin/community/reports").get_data(as_text=True)
    assert "I do not like it" in staff.get("/admin/community/reports?status=dismissed").get_data(as_text=True)


def test_reports_through_the_api(api, make, thread):
    reader, manager = api(thread["reader"]), api(make.user("manager"))
    made = reader.post(f"/answers/{thread['answer']}/reports", {"reason": "Spam link"})
    assert made.status_code == 201, made.json
    assert made.json["kind"] == "answer" and made.json["post_id"] == thread["answer"] and "reporter_id" not in made.json
    repeat = reader.post(f"/answers/{thread['answer']}/reports", {"reason": "Spam link"})
    assert repeat.status_code == 409 and repeat.json["error"]["code"] == "invalid_state"
    assert reader.post(f"/questions/{thread['question']}/reports", {"reason": "\u200b"}).status_code == 422
    assert reader.post("/questions/999999/reports", {"reason": "Gone?"}).status_code == 404
    assert reader.get("/post-reports").status_code == 403
    listed = manager.get("/post-reports")
    assert listed.json["total"] == 1 and listed.json["items"][0]["reporter_id"] == thread["reader"].id
    dismissed = manager.post(f"/post-reports/{made.json['id']}/dismiss")
    assert dismissed.status_code == 200 and dismissed.json["status"] == "dismissed"
    assert manager.post(f"/post-reports/{made.json['id']}/dismiss").status_code == 409
    assert manager.get("/post-reports", query_string={"status": "dismissed"}).json["total"] == 1


def test_a_members_reports_are_exported_and_erased_with_them(make, thread):
    from hub.models import Advocate
    from hub.privacy import erase_advocate, export_advocate

    services.report_post(thread["reader"], "answer", thread["answer"], "Spam link")
    db.session.commit()
    advocate_id = db.session.scalar(select(Advocate.id).where(Advocate.user_id == thread["reader"].id))
    exported = export_advocate(advocate_id)["post_reports"]
    assert [(r["answer_id"], r["reason"]) for r in exported] == [(thread["answer"], "Spam link")]
    erase_advocate(advocate_id, make.user("owner").id, "test")
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(PostReport)) == 0
