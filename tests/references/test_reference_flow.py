"""Reference requests end to end through the API and services: file → match → assign (an ask,
409 when capped) → accept (contact details appear) → feedback (completion approved once)."""

from __future__ import annotations

import datetime as dt

import pytest

from challenges import caps
from challenges.models import Ask, Completion, CompletionStatus
from challenges.references import services
from challenges.references.models import ReferenceAssignment, ReferenceRequest, RequestStatus
from hub.db import utcnow
from hub.extensions import db
from hub.models import AuditEntry, Notification
from rewards.badges import badges_of
from rewards.models import LedgerEntry
from tests.support.report_periods import check_fill_windows

NEEDED_BY = (dt.date.today() + dt.timedelta(days=10)).isoformat()
BODY = {
    "prospect_company": "Globex",
    "industry": "Healthcare",
    "company_size": "201-1000",
    "region": "EMEA",
    "use_case": "Patient intake",
    "stage": "poc",
    "deal_size": "120000.50",
    "currency": "EUR",
    "needed_by": NEEDED_BY,
    "format": "phone",
    "topics": ["rollout", "security"],
    "opportunity_external_id": "SF-0001",
}


@pytest.fixture()
def people(make, api):
    sales = make.user("sales")
    manager = make.user("manager")
    ada = make.advocate(
        name="Ada Lovelace",
        email="ada@example.com",
        industry="Healthcare",
        company_size="201-1000",
        company="Analytical Engines",
        title="CTO",
    )
    return {
        "sales": sales,
        "manager": manager,
        "ada": ada,
        "as_sales": api(sales),
        "as_manager": api(manager),
        "as_ada": api(ada.user),
    }


def test_the_whole_journey(people, refs):
    challenge = refs.challenge("reference_call", points=400)
    as_sales, as_manager, as_ada, ada = people["as_sales"], people["as_manager"], people["as_ada"], people["ada"]

    filed = as_sales.post("/reference-requests", json=BODY | {"status": "completed", "advocate_id": ada.id})
    assert filed.status_code == 201, filed.json
    request_id = filed.json["id"]
    assert filed.json["status"] == "open" and filed.json["advocate"] is None
    assert filed.json["deal_size"] == "120000.50" and filed.json["currency"] == "EUR"

    matches = as_manager.get(f"/reference-requests/{request_id}/matches").json
    assert matches["items"][0]["advocate_id"] == ada.id
    assert matches["items"][0]["reasons"][:2] == ["same industry", "same size band"]
    assert as_sales.get(f"/reference-requests/{request_id}/matches").status_code == 403

    assigned = as_manager.post(f"/reference-requests/{request_id}/assign", json={"advocate_id": ada.id})
    assert assigned.status_code == 200 and assigned.json["status"] == "matched"
    seen_by_sales = as_sales.get(f"/reference-requests/{request_id}").json
    assert seen_by_sales["status"] == "matched" and seen_by_sales["advocate"] is None
    ask_note = db.session.scalar(
        db.select(Notification).where(Notification.user_id == ada.user_id, Notification.kind == "reference_ask")
    )
    assert ask_note is not None and "Globex" in ask_note.text

    seen_by_ada = as_ada.get(f"/reference-requests/{request_id}").json
    assert "deal_size" not in seen_by_ada and "advocate" not in seen_by_ada
    assert as_sales.post(f"/reference-requests/{request_id}/accept").status_code == 403
    accepted = as_ada.post(f"/reference-requests/{request_id}/accept")
    assert accepted.status_code == 200 and accepted.json["status"] == "accepted"
    contact = as_sales.get(f"/reference-requests/{request_id}").json["advocate"]
    assert contact == {
        "advocate_id": ada.id,
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "title": "CTO",
        "company": "Analytical Engines",
    }

    assert (
        as_sales.post(f"/reference-requests/{request_id}/feedback", json={"rating": 6, "helped": True}).status_code
        == 422
    )
    done = as_sales.post(
        f"/reference-requests/{request_id}/feedback", json={"rating": 5, "notes": "Great call", "helped": True}
    )
    assert done.status_code == 200, done.json
    assert done.json["status"] == "completed" and done.json["feedback"]["rating"] == 5
    again = as_sales.post(f"/reference-requests/{request_id}/feedback", json={"rating": 4, "helped": False})
    assert again.status_code == 409 and again.json["error"]["code"] == "invalid_state"

    completion = db.session.scalar(db.select(Completion).where(Completion.advocate_id == ada.id))
    assert completion.challenge_id == challenge.id and completion.status is CompletionStatus.APPROVED
    entries = db.session.scalars(db.select(LedgerEntry).where(LedgerEntry.advocate_id == ada.id)).all()
    assert [(e.delta, e.source_type) for e in entries] == [(400, "completion")]
    assert "first_reference" in [b.code for b, _ in badges_of(ada.id)]
    thanks = db.session.scalar(
        db.select(Notification).where(Notification.user_id == ada.user_id, Notification.kind == "reference_thanks")
    )
    assert "Thank you for the reference call with Globex" in thanks.text and "+400 points" in thanks.text
    # The call is counted once by the caps: the assignment's ask was handed to the completion.
    active = db.session.scalars(db.select(Ask).where(Ask.advocate_id == ada.id, Ask.cancelled_at.is_(None))).all()
    assert [(a.source_type, a.kind.value) for a in active] == [("completion", "reference_call")]
    assert caps.asks_last_365([ada.id]) == {ada.id: 1}


def test_a_completed_call_counts_once_in_the_report_at_every_moment_since_the_ask(people, refs):
    """The assignment's ask is handed to the completion dated at the ask: the report's asks at a
    moment between the ask and the call count it once (the completion's, from the ask's time),
    as they do after the call — never both asks."""
    from challenges.reports import people as report_people
    from challenges.reports.period import ReportPeriod

    ada = people["ada"]
    ada.joined_at = utcnow() - dt.timedelta(days=100)  # an advocate at every moment below
    refs.challenge("reference_call", points=400)
    rr = refs.request(people["sales"])
    asked, called = utcnow() - dt.timedelta(days=20), utcnow() - dt.timedelta(days=10)
    services.assign(rr.id, ada.id, people["manager"].id, at=asked)
    services.respond(rr.id, ada.id, accept=True, at=asked + dt.timedelta(hours=2))
    services.give_feedback(rr.id, people["sales"], services.FeedbackInput(5, None, True), at=called)
    db.session.commit()
    assert rr.completion_id is not None
    now = utcnow()
    for moment in (asked + dt.timedelta(days=1), called + dt.timedelta(days=1)):
        day = moment.date()
        period = ReportPeriod(day, day)  # ends at midnight after `day`, between the ask and now
        figures = report_people.asks_and_burnout_at([period], now, [1])[0]
        assert figures["asks"] == 1, moment
    assert caps.asks_last_365([ada.id]) == {ada.id: 1}


def test_assigning_a_capped_advocate_is_409_and_writes_nothing(people, refs):
    ada = people["ada"]
    caps.claim_ask(ada.id, "reference_call", "test", "last-week", at=utcnow() - dt.timedelta(days=7))
    db.session.commit()
    rr = refs.request(people["sales"])
    response = people["as_manager"].post(f"/reference-requests/{rr.id}/assign", json={"advocate_id": ada.id})
    assert response.status_code == 409
    assert response.json["error"]["code"] == "cap_reached" and response.json["error"]["available_at"]
    db.session.expire_all()
    assert db.session.get(ReferenceRequest, rr.id).status.value == "open"
    assert db.session.scalar(db.select(db.func.count()).select_from(ReferenceAssignment)) == 0


def test_decline_releases_the_ask_and_reopens_the_request(people, refs, make):
    ada, manager = people["ada"], people["manager"]
    rr = refs.request(people["sales"])
    services.assign(rr.id, ada.id, manager.id)
    db.session.commit()
    assert caps.asks_last_365([ada.id])[ada.id] == 1
    declined = people["as_ada"].post(f"/reference-requests/{rr.id}/decline")
    assert declined.status_code == 200 and declined.json["status"] == "open"
    assert caps.asks_last_365([ada.id])[ada.id] == 0
    assert people["as_ada"].post(f"/reference-requests/{rr.id}/accept").status_code == 409
    again = people["as_manager"].post(f"/reference-requests/{rr.id}/assign", json={"advocate_id": ada.id})
    assert again.status_code == 409 and again.json["error"]["code"] == "invalid_state"
    grace = make.advocate(name="Grace")
    assert (
        people["as_manager"].post(f"/reference-requests/{rr.id}/assign", json={"advocate_id": grace.id}).json["status"]
        == "matched"
    )
    note = db.session.scalar(
        db.select(Notification).where(Notification.user_id == manager.id, Notification.kind == "reference_declined")
    )
    assert note is not None


def test_a_reference_call_within_30_days_of_the_last_one_is_refused(people, refs, make):
    ada, manager = people["ada"], people["manager"]
    first = refs.request(people["sales"])
    services.assign(first.id, ada.id, manager.id)
    services.respond(first.id, ada.id, accept=True)
    services.give_feedback(first.id, people["sales"], services.FeedbackInput(5, None, True))
    db.session.commit()
    second = refs.request(people["sales"], prospect_company="Initech")
    response = people["as_manager"].post(f"/reference-requests/{second.id}/assign", json={"advocate_id": ada.id})
    assert response.status_code == 409 and response.json["error"]["code"] == "cap_reached"
    assert first.points_note == "No reference call challenge was open to this advocate when they were asked."


def test_others_cannot_see_or_act_on_a_request(people, refs, make, api):
    rr = refs.request(people["sales"])
    other_sales = api(make.user("sales"))
    stranger = api(make.advocate().user)
    assert other_sales.get(f"/reference-requests/{rr.id}").status_code == 404
    assert (
        other_sales.post(f"/reference-requests/{rr.id}/feedback", json={"rating": 5, "helped": True}).status_code == 404
    )
    assert stranger.get(f"/reference-requests/{rr.id}").status_code == 404
    assert stranger.post(f"/reference-requests/{rr.id}/accept").status_code == 404
    assert people["as_ada"].get("/reference-requests/999999").status_code == 404
    assert other_sales.get("/reference-requests").json["total"] == 0
    assert people["as_sales"].get("/reference-requests").json["total"] == 1


def test_unfilled_offers_case_studies_and_reviews(people, refs, make):
    from challenges import services as challenge_services

    review = refs.challenge("review", points=100, allowed_domains=["g2.com"], marker="Vouch")
    writer = make.advocate(company="Hospital One", industry="Healthcare")
    completion = challenge_services.submit_completion(
        review.id, writer.id, {"evidence_url": "https://www.g2.com/products/vouch/reviews/1"}
    )
    challenge_services.approve_completion(completion.id, None)
    refs.challenge("case_study", points=500, title="Our Hospital One story")
    db.session.commit()
    rr = refs.request(people["sales"])
    response = people["as_manager"].post(f"/reference-requests/{rr.id}/unfilled", json={"note": "All busy"})
    assert response.status_code == 200 and response.json["status"] == "unfilled"
    alternatives = people["as_sales"].get(f"/reference-requests/{rr.id}").json["alternatives"]
    assert {
        "kind": "review",
        "title": review.title,
        "url": "https://www.g2.com/products/vouch/reviews/1",
        "company": "Hospital One",
        "industry": "Healthcare",
    } in alternatives
    assert any(a["kind"] == "case_study" and a["title"] == "Our Hospital One story" for a in alternatives)
    late = people["as_manager"].post(f"/reference-requests/{rr.id}/assign", json={"advocate_id": people["ada"].id})
    assert late.status_code == 409


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"needed_by": "2001-01-01"}, "needed_by"),
        ({"needed_by": "next week"}, "needed_by"),
        ({"stage": "closed"}, "stage"),
        ({"format": "carrier pigeon"}, "format"),
        ({"company_size": "huge"}, "company_size"),
        ({"deal_size": "-1"}, "deal_size"),
        ({"deal_size": "1e309"}, "deal_size"),
        ({"deal_size": "NaN"}, "deal_size"),
        ({"deal_size": "12.345"}, "deal_size"),
        ({"deal_size": True}, "deal_size"),
        ({"deal_size": 2**63}, "deal_size"),
        ({"currency": "dollars"}, "currency"),
        ({"topics": "not a list" * 200}, "topics"),
        ({"prospect_company": ""}, "prospect_company"),
    ],
)
def test_bad_requests_are_422_with_a_field_error(people, change, field):
    response = people["as_sales"].post("/reference-requests", json=BODY | change)
    assert response.status_code == 422, response.json
    assert field in response.json["error"]["fields"]
    assert db.session.scalar(db.select(db.func.count()).select_from(ReferenceRequest)) == 0


def test_late_feedback_still_pays_after_a_later_reference_ask(people, refs):
    """The call's ask moves from the assignment to the completion, dated when the advocate was
    asked. A reference ask taken since (allowed: more than 30 days later) must not make that
    hand-over look over the cap — the call happened, the advocate is paid, counted once."""
    refs.challenge("reference_call", points=400)
    as_sales, as_manager, as_ada, ada = people["as_sales"], people["as_manager"], people["as_ada"], people["ada"]
    request_id = as_sales.post("/reference-requests", json=BODY).json["id"]
    assert as_manager.post(f"/reference-requests/{request_id}/assign", json={"advocate_id": ada.id}).status_code == 200
    assert as_ada.post(f"/reference-requests/{request_id}/accept").status_code == 200
    asked = db.session.scalar(db.select(Ask).where(Ask.advocate_id == ada.id, Ask.cancelled_at.is_(None)))
    assert asked.source_type == "reference_assignment"
    asked.asked_at = utcnow() - dt.timedelta(days=45)  # the call was arranged six weeks ago
    db.session.commit()
    later = caps.claim_ask(ada.id, "reference_call", "test", "a-later-ask", at=utcnow() - dt.timedelta(days=10))
    db.session.commit()

    done = as_sales.post(f"/reference-requests/{request_id}/feedback", json={"rating": 5, "helped": True})
    assert done.status_code == 200, done.json
    completion = db.session.scalar(db.select(Completion).where(Completion.advocate_id == ada.id))
    assert completion is not None and completion.status is CompletionStatus.APPROVED
    assert db.session.scalar(db.select(LedgerEntry.delta).where(LedgerEntry.advocate_id == ada.id)) == 400
    active = db.session.scalars(db.select(Ask).where(Ask.advocate_id == ada.id, Ask.cancelled_at.is_(None))).all()
    assert sorted((a.source_type, a.source_id) for a in active) == sorted(
        [("completion", str(completion.id)), (later.source_type, later.source_id)]
    )


# Withdrawing, readable labels and the currency list (issue 20, "Sales").
def _notes(user_id: int, kind: str) -> list[str]:
    return list(
        db.session.scalars(
            db.select(Notification.text).where(Notification.user_id == user_id, Notification.kind == kind)
        )
    )


def test_an_open_request_is_withdrawn_once(people, refs):
    rr = refs.request(people["sales"])
    reply = people["as_sales"].post(f"/reference-requests/{rr.id}/withdraw")
    assert reply.status_code == 200 and reply.json["status"] == "cancelled"
    again = people["as_sales"].post(f"/reference-requests/{rr.id}/withdraw")
    assert again.status_code == 409 and again.json["error"]["code"] == "invalid_state"
    assert "withdrawn" in again.json["error"]["message"]
    # Nobody can be asked for a withdrawn request.
    assign = people["as_manager"].post(f"/reference-requests/{rr.id}/assign", json={"advocate_id": people["ada"].id})
    assert assign.status_code == 409
    audit = db.session.scalars(db.select(AuditEntry).where(AuditEntry.action == "reference_request.withdraw")).all()
    assert [(a.before, a.after) for a in audit] == [({"status": "open"}, {"status": "cancelled"})]


def test_withdrawing_a_matched_request_releases_the_ask_and_tells_the_advocate(people, refs):
    ada, manager = people["ada"], people["manager"]
    rr = refs.request(people["sales"])
    services.assign(rr.id, ada.id, manager.id)
    db.session.commit()
    assert caps.asks_last_365([ada.id])[ada.id] == 1
    assert people["as_sales"].post(f"/reference-requests/{rr.id}/withdraw").json["status"] == "cancelled"
    assert caps.asks_last_365([ada.id])[ada.id] == 0
    assert _notes(ada.user_id, "reference_withdrawn") == [
        f"The sales team withdrew the reference request for {rr.prospect_company}: there is nothing more to do, "
        "and it does not count as an ask."
    ]
    assert len(_notes(manager.id, "reference_withdrawn")) == 1
    # The advocate can no longer answer it.
    assert people["as_ada"].post(f"/reference-requests/{rr.id}/accept").status_code == 409
    assignment = db.session.scalar(db.select(ReferenceAssignment).where(ReferenceAssignment.request_id == rr.id))
    assert assignment.responded_at is None


def test_an_accepted_request_cannot_be_withdrawn(people, refs):
    ada = people["ada"]
    rr = refs.request(people["sales"])
    services.assign(rr.id, ada.id, people["manager"].id)
    services.respond(rr.id, ada.id, accept=True)
    db.session.commit()
    refused = people["as_sales"].post(f"/reference-requests/{rr.id}/withdraw")
    assert refused.status_code == 409
    assert db.session.get(type(rr), rr.id).status is RequestStatus.ACCEPTED
    assert caps.asks_last_365([ada.id])[ada.id] == 1


def test_only_the_filing_rep_or_staff_may_withdraw(people, refs, make, api):
    rr = refs.request(people["sales"])
    assert api(make.user("sales")).post(f"/reference-requests/{rr.id}/withdraw").status_code == 404
    assert people["as_ada"].post(f"/reference-requests/{rr.id}/withdraw").status_code == 403
    assert db.session.get(type(rr), rr.id).status is RequestStatus.OPEN
    assert people["as_manager"].post(f"/reference-requests/{rr.id}/withdraw").json["status"] == "cancelled"


def test_a_withdrawn_request_is_not_counted_as_unfilled_in_the_fill_rate(people, refs):
    ada = people["ada"]
    filled = refs.request(people["sales"])
    services.assign(filled.id, ada.id, people["manager"].id)
    services.respond(filled.id, ada.id, accept=True)
    withdrawn = refs.request(people["sales"], prospect_company="Initech")
    services.withdraw(withdrawn.id, people["sales"])
    db.session.commit()
    metrics = services.fill_metrics()
    assert (metrics.filed, metrics.filled, metrics.fill_rate) == (1, 1, 1.0)


def test_the_sales_pages_read_in_words_and_offer_withdraw(people, refs, app, login):
    rr = refs.request(people["sales"], stage="poc", format="video")
    client = login(app.test_client(), people["sales"])
    page = client.get(f"/references/{rr.id}").get_data(as_text=True)
    assert "<dt>Stage</dt><dd>Proof of concept</dd>" in page
    assert "<dt>Format</dt><dd>Video call</dd>" in page
    assert "Withdraw request" in page
    index = client.get("/references").get_data(as_text=True)
    assert ">Advocate asked</a>" in index and ">Withdrawn</a>" in index and ">Matched<" not in index
    done = client.post(f"/references/{rr.id}/withdraw", follow_redirects=True).get_data(as_text=True)
    assert "Withdrawn by the sales team" in done and "Withdraw request" not in done
    second = client.post(f"/references/{rr.id}/withdraw")
    assert second.status_code == 409 and "Only a request nobody has agreed to yet can be withdrawn" in second.get_data(
        as_text=True
    )


def test_the_request_form_marks_required_fields_and_offers_a_currency_list(people, app, login):
    page = login(app.test_client(), people["sales"]).get("/references/new").get_data(as_text=True)
    assert '<label for="prospect_company">Prospect company</label><span class="required-mark"' in page
    assert 'for="region">Region</label>' in page  # optional: no mark
    assert '<select class="" id="currency"' in page or '<select id="currency"' in page
    assert '<option selected value="USD">USD — US Dollar</option>' in page
    assert '<option value="EUR">EUR — Euro</option>' in page


@pytest.mark.parametrize(
    ("currency", "message"),
    [
        ("XYZ", "XYZ is not a currency in use (ISO 4217), e.g. USD, EUR or GBP."),
        ("DEM", "DEM is not a currency in use (ISO 4217), e.g. USD, EUR or GBP."),
        ("XAU", "XAU is not a currency in use (ISO 4217), e.g. USD, EUR or GBP."),
    ],
)
def test_a_currency_not_in_use_is_refused_everywhere(people, currency, message):
    reply = people["as_sales"].post("/reference-requests", json=BODY | {"currency": currency})
    assert reply.status_code == 422
    assert reply.json["error"]["fields"]["currency"] == [message]
    assert people["as_sales"].get("/reference-requests").json["total"] == 0


def test_fill_rate_and_median_hours_per_window_are_counted_by_hand(people):
    """fill_metrics_in reads every window in two statements; each window's figures are its own
    requests' (tests/support/report_periods.check_fill_windows; on PostgreSQL too:
    test_report_figures_pg)."""
    check_fill_windows(people["sales"].id)
