"""The HTML side: advocate feed, challenge page with in-place submit and status chip,
preferences, the staff editor with live preview, review queue and caps policy."""

from __future__ import annotations

import datetime as dt
import itertools
import re

import pytest
from sqlalchemy import select

from challenges import services
from challenges.models import Challenge, ChallengeStatus, Completion, CompletionStatus
from hub.extensions import db
from hub.models import Advocate, AuditEntry
from hub.settings import get_setting

HX = {"HX-Request": "true"}


def test_home_shows_for_you_cards_with_locks(as_role, make_challenge):
    client = as_role("advocate", name="Ada Lovelace")
    advocate = client.advocate
    make_challenge(title="Write a review", type="custom")
    first = make_challenge(title="Case study", type="case_study")
    make_challenge(title="Speak at summit", type="speaking")
    services.submit_completion(first.id, advocate.id, {"evidence_text": "Happy to"})
    db.session.commit()
    html = client.get("/").get_data(as_text=True)
    assert "For you" in html and "Write a review" in html
    assert "You took on a high-effort challenge on" in html and "locked" in html
    assert "Pending review" in html


def test_the_challenge_list_heads_its_cards_with_an_h2(as_role, make_challenge):
    """Headings go down one level at a time (axe's heading-order): the cards' h3 titles follow
    an h2, not the page's h1 directly."""
    client = as_role("advocate", name="Ada Lovelace")
    make_challenge(title="Write a review", type="custom")
    html = client.get("/challenges").get_data(as_text=True)
    levels = [int(level) for level in re.findall(r"<h([1-6])[\s>]", html)]
    assert 3 in levels
    assert all(later - earlier <= 1 for earlier, later in itertools.pairwise(levels))


def test_challenge_page_submit_in_place(as_role, make_challenge):
    client = as_role("advocate", name="Ada Lovelace")
    challenge = make_challenge(title="Team photo", description="<script>alert(1)</script>\n\n**Smile**")
    page = client.get(f"/challenges/{challenge.id}").get_data(as_text=True)
    assert "<strong>Smile</strong>" in page and "<script>alert" not in page
    invalid = client.post(f"/challenges/{challenge.id}/complete", data={"evidence_text": ""}, headers=HX)
    assert invalid.status_code == 200 and "This field is required" in invalid.get_data(as_text=True)
    response = client.post(f"/challenges/{challenge.id}/complete", data={"evidence_text": "Done!"}, headers=HX)
    assert response.status_code == 200
    assert 'data-status="pending_review"' in response.get_data(as_text=True)
    again = client.post(f"/challenges/{challenge.id}/complete", data={"evidence_text": "again"}, headers=HX)
    assert again.status_code == 200 and "Pending review" in again.get_data(as_text=True)
    assert db.session.scalar(select(Completion.status)) is CompletionStatus.PENDING_REVIEW


def test_status_chip_polls_and_announces_points(as_role, make_challenge, make_user):
    client = as_role("advocate", name="Ada Lovelace")
    advocate = client.advocate
    challenge = make_challenge()
    completion = services.submit_completion(challenge.id, advocate.id, {"evidence_text": "x"})
    completion.status = CompletionStatus.VERIFYING
    db.session.commit()
    polling = client.get(f"/completions/{completion.id}/status?poll=1", headers=HX)
    assert "hx-trigger" in polling.get_data(as_text=True) and "HX-Trigger" not in polling.headers
    page = client.get(f"/challenges/{challenge.id}").get_data(as_text=True)
    assert f'data-part="done:{challenge.id}"' in page and "0 advocates" in page
    services.approve_completion(completion.id, make_user("manager").id)
    db.session.commit()
    # Issue 19: the approval refreshes the header balance and "Done by N advocates" (it stayed 0)
    # in the same response, out of band — only the parts the page says it holds.
    parts = HX | {"X-Vouch-Parts": f"summary done:{challenge.id}"}
    done = client.get(f"/completions/{completion.id}/status?poll=1", headers=parts)
    body = done.get_data(as_text=True)
    assert "+150 points" in body and "hx-trigger" not in body
    assert "HX-Trigger" not in done.headers
    assert f'<span id="done-{challenge.id}" hx-swap-oob="innerHTML">1 advocate</span>' in body
    assert '<div id="summary" hx-swap-oob="innerHTML">' in body and ">150</strong> pts" in body
    assert "tier-card" not in body  # not on this page
    assert "150" in client.get("/me/summary").get_data(as_text=True)


def test_rejection_reason_reaches_the_advocate(as_role, make_challenge, make_user):
    client = as_role("advocate", name="Ada Lovelace")
    advocate = client.advocate
    challenge = make_challenge()
    completion = services.submit_completion(challenge.id, advocate.id, {"evidence_text": "x"})
    services.reject_completion(completion.id, make_user("manager").id, "Please attach the photo")
    db.session.commit()
    assert "Please attach the photo" in client.get(f"/completions/{completion.id}/status").get_data(as_text=True)
    assert "Please attach the photo" in client.get(f"/challenges/{challenge.id}").get_data(as_text=True)


def test_other_advocates_and_drafts_are_404(app, as_role, make_challenge, make_advocate, login):
    client = as_role("advocate", name="Ada Lovelace")
    draft = make_challenge(publish=False)
    assert client.get(f"/challenges/{draft.id}").status_code == 404
    published = make_challenge()
    completion = services.submit_completion(published.id, make_advocate().id, {"evidence_text": "x"})
    db.session.commit()
    assert client.get(f"/completions/{completion.id}/status").status_code == 404


def test_preferences_and_blackouts(as_role, make_challenge):
    client = as_role("advocate", name="Ada Lovelace")
    advocate = client.advocate
    assert client.get("/me/preferences").status_code == 200
    too_lax = client.post(
        "/me/preferences", data={"max_asks_per_quarter": "9", "activity_types": ["review"]}, headers=HX
    )
    assert "choose 4 or fewer" in too_lax.get_data(as_text=True)
    saved = client.post(
        "/me/preferences",
        data={"max_asks_per_quarter": "1", "activity_types": ["review", "quiz"], "show_on_leaderboard": "y"},
        headers=HX,
    )
    assert 'data-testid="preferences-saved"' in saved.get_data(as_text=True)
    db.session.expire_all()
    adv = db.session.get(Advocate, advocate.id)
    assert (adv.max_asks_per_quarter, adv.available_for_references, adv.show_on_leaderboard) == (1, False, True)
    assert adv.preferences["activity_types"] == ["review", "quiz"]
    today = dt.date.today()
    start, end = today + dt.timedelta(days=1), today + dt.timedelta(days=10)
    added = client.post(
        "/me/preferences/blackouts", data={"start": start.isoformat(), "end": end.isoformat()}, headers=HX
    )
    assert 'data-testid="blackouts"' in added.get_data(as_text=True)
    backwards = client.post(
        "/me/preferences/blackouts", data={"start": end.isoformat(), "end": start.isoformat()}, headers=HX
    )
    assert "on or after the first" in backwards.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Advocate, advocate.id).preferences["blackouts"] == [
        {"start": start.isoformat(), "end": end.isoformat()}
    ]
    client.post(
        "/me/preferences/blackouts/remove", data={"start": start.isoformat(), "end": end.isoformat()}, headers=HX
    )
    db.session.expire_all()
    assert db.session.get(Advocate, advocate.id).preferences["blackouts"] == []


def test_preferences_ignore_smuggled_fields(as_role):
    client = as_role("advocate", name="Ada Lovelace")
    advocate = client.advocate
    client.post("/me/preferences", data={"balance": "99999", "tier": "gold", "max_asks_per_quarter": "2"})
    db.session.expire_all()
    adv = db.session.get(Advocate, advocate.id)
    assert (adv.balance, adv.tier.value, adv.max_asks_per_quarter) == (0, "bronze", 2)


FORM = {
    "title": "Review us on G2",
    "type": "review",
    "points": "200",
    "description": "Say **hi**",
    "allowed_domains": "g2.com",
    "marker": "Acme",
    "max_per_advocate": "1",
    "cooldown_days": "0",
}


def test_manager_creates_previews_edits_and_publishes(as_role):
    manager_client = as_role("manager")
    preview = manager_client.post("/admin/challenges/preview", data=FORM, headers=HX).get_data(as_text=True)
    assert "Review us on G2" in preview and "<strong>hi</strong>" in preview and "+200 pts" in preview
    warned = manager_client.post("/admin/challenges/preview", data=FORM | {"allowed_domains": ""}, headers=HX)
    assert "every link goes to review" in warned.get_data(as_text=True)
    bad_preview = manager_client.post("/admin/challenges/preview", data=FORM | {"points": "0"}, headers=HX)
    assert "Fix these to see the preview" in bad_preview.get_data(as_text=True)
    invalid = manager_client.post("/admin/challenges/new", data=FORM | {"points": "1.5"})
    assert invalid.status_code == 422
    created = manager_client.post("/admin/challenges/new", data=FORM | {"status": "published"})
    assert created.status_code == 302
    challenge = db.session.scalar(select(Challenge))
    assert challenge.status is ChallengeStatus.DRAFT
    edit = manager_client.get(f"/admin/challenges/{challenge.id}/edit").get_data(as_text=True)
    assert 'value="g2.com"' in edit
    manager_client.post(f"/admin/challenges/{challenge.id}/edit", data=FORM | {"points": "300"})
    row = manager_client.post(f"/admin/challenges/{challenge.id}/publish", headers=HX).get_data(as_text=True)
    assert "Published" in row
    db.session.expire_all()
    assert db.session.get(Challenge, challenge.id).points == 300
    assert db.session.get(Challenge, challenge.id).status is ChallengeStatus.PUBLISHED
    dup = manager_client.post(f"/admin/challenges/{challenge.id}/duplicate")
    assert dup.status_code == 302
    listing = manager_client.get("/admin/challenges").get_data(as_text=True)
    assert "Copy of Review us on G2" in listing
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"challenge.create", "challenge.update", "challenge.published"} <= actions


def test_quiz_editor_format(as_role):
    manager_client = as_role("manager")
    data = FORM | {
        "type": "quiz",
        "allowed_domains": "",
        "questions-0-prompt": "2+2?",
        "questions-0-options-0": "3",
        "questions-0-options-1": "4",
        "questions-0-correct": "1",
        "questions-1-prompt": "Sky?",
        "questions-1-options-0": "blue",
        "questions-1-options-1": "green",
        "questions-1-correct": "0",
    }
    assert manager_client.post("/admin/challenges/new", data=data).status_code == 302
    quiz = db.session.scalar(select(Challenge.quiz))
    assert quiz["questions"][0] == {"prompt": "2+2?", "options": ["3", "4"], "answer": 1}
    no_answer = {k: v for k, v in data.items() if k != "questions-1-correct"}
    assert manager_client.post("/admin/challenges/new", data=no_answer).status_code == 422


def test_review_queue_approve_reject_and_bulk(as_role, make_advocate, make_challenge):
    manager_client = as_role("manager")
    challenge = make_challenge(type="review", allowed_domains=["g2.com"], marker="Acme")
    ids = []
    for n in range(4):
        c = services.submit_completion(challenge.id, make_advocate().id, {"evidence_url": f"https://g2.com/r/{n}"})
        services.send_to_review(c.id, "“Acme” was not found on the page.", "Some page text about Acme here")
        ids.append(c.id)
    db.session.info.pop("vouch_pending_jobs", None)
    db.session.commit()
    page = manager_client.get("/admin/review").get_data(as_text=True)
    assert page.count('data-testid="review-item"') == 4 and "<mark>Acme</mark>" in page
    approved = manager_client.post(f"/admin/review/{ids[0]}/approve", headers=HX).get_data(as_text=True)
    assert "Approved" in approved
    twice = manager_client.post(f"/admin/review/{ids[0]}/approve", headers=HX).get_data(as_text=True)
    assert "already decided" in twice
    no_reason = manager_client.post(f"/admin/review/{ids[1]}/reject", data={"reason": ""}, headers=HX)
    assert "Say why" in no_reason.get_data(as_text=True)
    manager_client.post(f"/admin/review/{ids[1]}/reject", data={"reason": "Not a review"}, headers=HX)
    bulk = manager_client.post(
        "/admin/review/bulk",
        data={"ids": [str(i) for i in ids], "decision": "reject", "reason": "Duplicate"},
        headers=HX,
    )
    said = bulk.get_data(as_text=True)
    assert (
        f"Rejected 2; not done: #{ids[0]}: This completion was already decided (approved); "
        f"#{ids[1]}: This completion was already decided (rejected)." in said
    )
    statuses = [db.session.get(Completion, i).status.value for i in ids]
    assert statuses == ["approved", "rejected", "rejected", "rejected"]
    bad_age = manager_client.get("/admin/review?age=abc")  # issue 12 item 8: the queue, with a note
    assert bad_age.status_code == 200 and "“age=abc” was not used" in bad_age.get_data(as_text=True)


def test_caps_policy_is_owner_only_and_audited(app, as_role, make_user, login):
    manager_client = as_role("manager")
    assert manager_client.get("/admin/settings/caps").status_code == 403
    owner = login(app.test_client(), make_user("owner"))
    assert "Caps policy" in owner.get("/admin/settings").get_data(as_text=True)
    bad = owner.post(
        "/admin/settings/caps",
        data={
            "reference_calls_per_30_days": "-1",
            "medium_asks_per_60_days": "1",
            "high_asks_per_90_days": "1",
            "asks_per_365_days": "4",
        },
    )
    assert bad.status_code == 422
    ok = owner.post(
        "/admin/settings/caps",
        data={
            "reference_calls_per_30_days": "2",
            "medium_asks_per_60_days": "1",
            "high_asks_per_90_days": "1",
            "asks_per_365_days": "6",
        },
    )
    assert ok.status_code == 302
    assert get_setting("caps_policy")["asks_per_365_days"] == 6
    assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.action == "settings.caps_policy"))


@pytest.mark.parametrize("path", ["/admin/challenges", "/admin/review", "/admin/challenges/new"])
def test_staff_pages_refuse_advocates(as_role, path):
    client = as_role("advocate", name="Ada Lovelace")
    assert client.get(path).status_code == 403


def test_advocate_pages_refuse_staff(as_role):
    manager_client = as_role("manager")
    assert manager_client.get("/challenges").status_code == 403
    assert manager_client.get("/me/preferences").status_code == 403
