"""The pages: sales file and follow, managers match and assign, advocates answer in one click."""

from __future__ import annotations

import datetime as dt

from flask.testing import FlaskClient

from challenges.references.models import ReferenceRequest
from hub.extensions import db

NEEDED_BY = (dt.date.today() + dt.timedelta(days=7)).isoformat()


def client_for(app, login, user) -> FlaskClient:
    return login(app.test_client(), user)


def test_reference_pages_end_to_end(app, login, make, refs):
    refs.challenge("reference_call", points=250)
    sales, manager = make.user("sales"), make.user("manager")
    ada = make.advocate(
        name="Ada Lovelace",
        email="ada@example.com",
        industry="Healthcare",
        company_size="51-200",
        company="Engines Ltd",
    )
    as_sales, as_manager, as_ada = (client_for(app, login, u) for u in (sales, manager, ada.user))

    assert b"No reference requests yet" in as_sales.get("/references").data
    bad = as_sales.post("/references/new", data={"prospect_company": "Globex"})
    assert bad.status_code == 200 and b"This field is required" in bad.data
    filed = as_sales.post(
        "/references/new",
        data={
            "prospect_company": "Globex",
            "industry": "Healthcare",
            "company_size": "51-200",
            "use_case": "Intake",
            "stage": "poc",
            "deal_size": "abc",
            "currency": "USD",
            "needed_by": NEEDED_BY,
            "format": "video",
        },
    )
    assert b"A decimal amount" in filed.data
    filed = as_sales.post(
        "/references/new",
        data={
            "prospect_company": "Globex",
            "industry": "Healthcare",
            "company_size": "51-200",
            "use_case": "Intake",
            "stage": "poc",
            "deal_size": "50000",
            "currency": "USD",
            "needed_by": NEEDED_BY,
            "format": "video",
            "topics": "security, rollout",
        },
    )
    assert filed.status_code == 302
    rr = db.session.scalar(db.select(ReferenceRequest))
    assert rr.topics == ["security", "rollout"]
    page = as_sales.get(f"/references/{rr.id}").data
    assert b"finding the best-fitting advocate" in page and b"ada@example.com" not in page

    assert as_sales.get(f"/admin/references/{rr.id}").status_code == 403
    detail = as_manager.get(f"/admin/references/{rr.id}")
    assert b"Ada Lovelace" in detail.data and b"same industry" in detail.data and b"never asked" in detail.data
    assigned = as_manager.post(
        f"/admin/references/{rr.id}/assign", data={"advocate_id": str(ada.id)}, headers={"HX-Request": "true"}
    )
    assert assigned.status_code == 200 and b"Advocate asked" in assigned.data
    again = as_manager.post(
        f"/admin/references/{rr.id}/assign", data={"advocate_id": str(ada.id)}, headers={"HX-Request": "true"}
    )
    assert again.status_code == 200 and b"Only an open request can be assigned" in again.data
    assert b"ada@example.com" not in as_sales.get(f"/references/{rr.id}").data

    asks = as_ada.get("/me/references")
    assert b"Globex" in asks.data and b"Accept" in asks.data and b"50000" not in asks.data
    assert b"Globex" in as_ada.get("/").data  # the hub card lists the pending ask
    card = as_ada.post(f"/me/references/{rr.id}/accept", headers={"HX-Request": "true"})
    assert card.status_code == 200 and b"You accepted" in card.data and b"<html" not in card.data
    page = as_sales.get(f"/references/{rr.id}").data
    assert b"ada@example.com" in page and b"Engines Ltd" in page and b"After the call" in page

    done = as_sales.post(f"/references/{rr.id}/feedback", data={"rating": "5", "helped": "true", "notes": "Great"})
    assert done.status_code == 302
    assert b"Rating 5/5" in as_sales.get(f"/references/{rr.id}").data
    thanks = as_ada.get(f"/me/references/{rr.id}").data
    assert b"Thank you for the reference call with Globex" in thanks
    assert b"+250 points" in as_ada.get("/notifications").data


def test_staff_and_advocate_pages_render(app, login, make, refs):
    owner, manager = make.user("owner"), make.user("manager")
    ada = make.advocate(company="Acme")
    refs.opportunity(account="Acme", amount="1200.00")
    as_owner, as_manager, as_ada = (client_for(app, login, u) for u in (owner, manager, ada.user))
    for path in ("/admin/references", "/admin/referrals", "/admin/crm", "/admin/referrals?flagged=true"):
        assert as_manager.get(path).status_code == 200, path
    assert as_manager.get("/admin/reports").status_code == 403
    crm_page = as_owner.get("/admin/crm").data
    assert b"Create integration token" in crm_page and b"Webhooks" in crm_page
    assert b"Create integration token" not in as_manager.get("/admin/crm").data
    report = as_owner.get("/admin/reports")
    assert report.status_code == 200 and b"Fill rate" in report.data
    saved = as_owner.post("/admin/reports/cost", data={"amount": "-4", "currency": "USD"})
    assert saved.status_code == 422 and b"Must be between" in saved.data
    assert as_owner.post("/admin/reports/cost", data={"amount": "10000", "currency": "usd"}).status_code == 302
    # The form keeps the period it was sent from: a refusal re-renders that period, a save
    # returns to it, and the form's address opened again is that reports page (not a 405).
    refused = as_owner.post("/admin/reports/cost?period=last_quarter", data={"amount": "x", "currency": "USD"})
    assert refused.status_code == 422 and b'aria-current="page">Last quarter<' in refused.data
    back = as_owner.post("/admin/reports/cost?period=last_quarter", data={"amount": "9000", "currency": "USD"})
    assert back.status_code == 302 and back.headers["Location"] == "/admin/reports?period=last_quarter"
    reopened = as_owner.get("/admin/reports/cost?period=custom&from=2026-01-01&to=2026-02-01&_external=1")
    assert reopened.status_code == 302
    assert reopened.headers["Location"] == "/admin/reports?period=custom&from=2026-01-01&to=2026-02-01"
    csv_body = as_owner.get("/admin/reports/attribution.csv")
    assert csv_body.status_code == 200 and csv_body.data.startswith(b"advocate_id,name")
    for path in ("/referrals", "/me/references", "/me/impact", "/"):
        assert as_ada.get(path).status_code == 200, path
    assert as_ada.get("/admin/crm").status_code == 403
    referred = as_ada.post(
        "/referrals", data={"name": "Peer", "email": "peer@example.com", "company": "Peer Co", "consent": "y"}
    )
    assert referred.status_code == 200 and b"We recorded your referral of Peer" in referred.data
    missing_consent = as_ada.post("/referrals", data={"name": "P2", "email": "p2@example.com", "company": "C"})
    assert b"agreed to be contacted" in missing_consent.data


def test_csv_import_page_shows_progress(app, login, make, jobs):
    import io

    manager = make.user("manager")
    as_manager = client_for(app, login, manager)
    data = (
        "external_id,name,account,amount,currency,stage,created_date\n"
        "X-1,One,Acme,10,USD,Open,2026-01-01\nX-2,Two,Acme,oops,USD,Open,2026-01-01\n"
    )
    response = as_manager.post(
        "/admin/crm/import", data={"file": (io.BytesIO(data.encode()), "deals.csv")}, content_type="multipart/form-data"
    )
    assert response.status_code == 302
    db.session.remove()  # this thread's read transaction would hold SQLite's write lock (BEGIN IMMEDIATE)
    jobs.join()
    page = as_manager.get(response.headers["Location"]).data
    assert b"2 of 2 rows (100%)" in page and b"1 created" in page and b"amount" in page
    bad = as_manager.post(
        "/admin/crm/import", data={"file": (io.BytesIO(b"a,b\n1,2\n"), "x.csv")}, content_type="multipart/form-data"
    )
    assert bad.status_code == 422 and b"Missing columns" in bad.data


def test_declining_an_ask_says_what_actually_happens(app, login, make, refs):
    """Issue 19: the card said "we asked someone else" when nobody was asked. After a decline the
    request is open again with nobody matched, the ask no longer counts, and the card says so."""
    from challenges import caps
    from challenges.references import services

    sales, manager = make.user("sales"), make.user("manager")
    ada = make.advocate(name="Ada Lovelace")
    rr = refs.request(sales)
    services.assign(rr.id, ada.id, manager.id)
    db.session.commit()
    as_ada = client_for(app, login, ada.user)
    card = as_ada.post(f"/me/references/{rr.id}/decline", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "asked someone else" not in card
    assert "Nobody has been asked in your place yet: it goes back to the program team" in card
    assert "It does not count toward your asks" in card
    db.session.expire_all()
    request = db.session.get(ReferenceRequest, rr.id)
    assert request.status.value == "open" and request.advocate_id is None  # nobody else was asked
    assert caps.asks_last_365([ada.id])[ada.id] == 0
    page = as_ada.get(f"/me/references/{rr.id}").get_data(as_text=True)
    assert "Nobody has been asked in your place yet" in page and "Accept" not in page
