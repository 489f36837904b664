"""The finding-advocates pages: the score import (job with progress and a per-line error report),
candidates with invite one or many, nominations (the form for sales, approve/decline for
managers), and the funnel on the owner's dashboard."""

from __future__ import annotations

import io
import re

from sqlalchemy import func, select

from challenges.prospects.models import AdvocacyScore, Nomination
from hub.extensions import db
from hub.models import Invite

HEADER = "email,name,company,nps,feature_adoption_pct,health_score,tenure_months,social_mentions,responded_before"


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html).group(1)


def test_owner_imports_scores_sees_progress_and_invites_candidates(app, make, login, jobs):
    owner = make.user("owner")
    client = login(app.test_client(), owner)
    page = client.get("/admin/candidates").get_data(as_text=True)
    csv = f"{HEADER}\ntop@acme.io,Top,Acme,10,80,90,24,2,yes\nbad-email,X,,,,,,,\nmid@acme.io,Mid,Acme,9,71,81,,,\n"
    upload = client.post(
        "/admin/candidates/import",
        data={"csrf_token": _csrf(page), "file": (io.BytesIO(csv.encode()), "scores.csv")},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 302
    jobs.join()
    progress = client.get(upload.headers["Location"]).get_data(as_text=True)
    assert "2 imported, 0 updated, 1 rows with errors." in progress and "100%" in progress
    assert "<td>3</td>" in progress  # the bad row's line

    listing = client.get("/admin/candidates?qualified=true").get_data(as_text=True)
    assert listing.index("Top") < listing.index("Mid")
    assert "NPS 10, feature adoption over 70%" in listing
    ids = dict(db.session.execute(select(AdvocacyScore.email, AdvocacyScore.id)).all())
    invited = client.post(
        "/admin/candidates/invite",
        data={"csrf_token": _csrf(listing), "candidate_id": [ids["top@acme.io"], ids["mid@acme.io"]]},
    )
    assert invited.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Invite)) == 2
    after = client.get("/admin/candidates").get_data(as_text=True)
    assert after.count(">invited<") == 2
    dashboard = client.get("/admin/").get_data(as_text=True)
    assert "Qualified candidates" in dashboard and re.search(r"Invited</span><span class=\"big\">2<", dashboard)


def test_a_bad_upload_rerenders_with_the_error_and_stores_nothing(app, make, login):
    client = login(app.test_client(), make.user("manager"))
    page = client.get("/admin/candidates").get_data(as_text=True)
    refused = client.post(
        "/admin/candidates/import",
        data={"csrf_token": _csrf(page), "file": (io.BytesIO(b"name,nps\nAda,9\n"), "scores.csv")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422 and "Missing columns: email" in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(AdvocacyScore)) == 0


def test_sales_nominates_and_a_manager_decides(app, make, login):
    sales, manager = make.user("sales"), make.user("manager")
    as_sales = login(app.test_client(), sales)
    form = as_sales.get("/nominations").get_data(as_text=True)
    blank = as_sales.post("/nominations", data={"csrf_token": _csrf(form), "name": "Cy", "email": "nope"})
    assert blank.status_code == 422 and db.session.scalar(select(func.count()).select_from(Nomination)) == 0
    data = {"csrf_token": _csrf(form), "name": "Cy", "email": "cy@acme.io", "company": "Acme", "reason": "A fan"}
    assert as_sales.post("/nominations", data=data).status_code == 302
    again = as_sales.post("/nominations", data=data)
    assert again.status_code == 409 and "already been nominated" in again.get_data(as_text=True)
    assert "waiting for a decision" in as_sales.get("/nominations").get_data(as_text=True)
    assert as_sales.get("/admin/nominations").status_code == 403

    as_manager = login(app.test_client(), manager)
    listing = as_manager.get("/admin/nominations").get_data(as_text=True)
    nomination = db.session.scalar(select(Nomination))
    empty = as_manager.post(
        f"/admin/nominations/{nomination.id}/decline", data={"csrf_token": _csrf(listing), "reason": ""}
    )
    assert empty.status_code == 422
    approved = as_manager.post(f"/admin/nominations/{nomination.id}/approve", data={"csrf_token": _csrf(listing)})
    assert approved.status_code == 302
    assert "approved — invited" in as_sales.get("/nominations").get_data(as_text=True)
    twice = as_manager.post(f"/admin/nominations/{nomination.id}/approve", data={"csrf_token": _csrf(listing)})
    assert twice.status_code == 302 and db.session.scalar(select(func.count()).select_from(Invite)) == 1
