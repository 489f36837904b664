"""CRM exports (product.md §13): a Salesforce "Opportunities" report export and a HubSpot deals
export (samples in tests/data/) are recognised by their headers, their mapping is shown before
the import starts, and their rows import through the same upsert, linked to accounts."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from challenges.crm import export_formats, imports
from challenges.crm.models import CrmImport, ImportStatus, Opportunity
from hub.errors import InvalidState
from hub.extensions import db
from hub.models import Account

DATA = Path(__file__).resolve().parent.parent / "data"


def _header(name: str) -> list[str]:
    return next(csv.reader(io.StringIO((DATA / name).read_text(encoding="utf-8"))))


def test_the_samples_are_recognised_and_vouchs_own_columns_are_not_an_export():
    assert export_formats.detect(_header("salesforce_opportunities_report.csv")) is export_formats.SALESFORCE
    assert export_formats.detect(_header("hubspot_deals_export.csv")) is export_formats.HUBSPOT
    assert export_formats.detect(["external_id", "name", "account", "amount", "currency", "stage"]) is None


def test_salesforce_rows_translate_dates_amounts_and_outcomes():
    reader = csv.DictReader(io.StringIO((DATA / "salesforce_opportunities_report.csv").read_text(encoding="utf-8")))
    won, open_deal, lost = (export_formats.SALESFORCE.translate(r) for r in reader)
    assert (won["external_id"], won["account"], won["amount"]) == (
        "0065g00000AbCdEAAV",
        "Acme, Inc.",
        "48500.00",
    )
    assert (won["created_date"], won["close_date"], won["is_closed"], won["is_won"]) == (
        "2026-01-04",
        "2026-02-14",
        "true",
        "true",
    )
    assert (open_deal["is_closed"], open_deal["is_won"]) == ("false", "false")
    assert (lost["currency"], lost["is_closed"], lost["is_won"]) == ("EUR", "true", "false")


def test_hubspot_without_closed_flags_reads_the_stage():
    row = {"Record ID": "1", "Deal Name": "D", "Deal Stage": "closedwon", "Amount": "10", "Create Date": "2026-01-02"}
    out = export_formats.HUBSPOT.translate(row)
    assert (out["is_closed"], out["is_won"], out["currency"], out["created_date"]) == (
        "true",
        "true",
        "USD",
        "2026-01-02",
    )


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        (
            "salesforce_opportunities_report.csv",
            {
                "0065g00000AbCdEAAV": ("acme", Decimal("48500.00"), True, True),
                "0065g00000AbCdFAAV": ("globex", Decimal("120000.00"), False, False),
                "0065g00000AbCdGAAV": ("initech", Decimal("9900.00"), True, False),
            },
        ),
        (
            "hubspot_deals_export.csv",
            {
                "9871001": ("umbrella", Decimal("15000.00"), True, True),
                "9871002": ("hooli", Decimal("7500.50"), False, False),
                "9871003": ("stark industries", Decimal("250000.00"), True, False),
            },
        ),
    ],
)
def test_an_export_imports_after_its_mapping_is_confirmed(app, make, login, jobs, sample, expected):
    manager = make.user("manager")
    client = login(app.test_client(), manager)
    console = client.get("/admin/crm").get_data(as_text=True)
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', console).group(1)
    upload = client.post(
        "/admin/crm/import",
        data={"csrf_token": token, "file": (io.BytesIO((DATA / sample).read_bytes()), sample)},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 302
    jobs.join()
    job = db.session.scalar(select(CrmImport).order_by(CrmImport.id.desc()))
    assert job.awaiting_confirmation and job.status is ImportStatus.QUEUED
    assert db.session.scalar(select(db.func.count()).select_from(Opportunity)) == 0  # nothing before the confirmation
    page = client.get(upload.headers["Location"]).get_data(as_text=True)
    assert "Recognised:" in page and "column-mapping" in page and "Import 3 rows with this mapping" in page

    assert client.post(f"/admin/crm/imports/{job.id}/confirm", data={"csrf_token": token}).status_code == 302
    jobs.join()
    db.session.expire_all()
    job = db.session.get(CrmImport, job.id)
    assert job.status is ImportStatus.DONE and job.errors == [] and job.created_count == 3
    rows = db.session.execute(
        select(
            Opportunity.external_id, Account.name_key, Opportunity.amount, Opportunity.is_closed, Opportunity.is_won
        ).join(Account, Account.id == Opportunity.account_id)
    ).all()
    assert {r[0]: tuple(r[1:]) for r in rows} == expected
    with pytest.raises(InvalidState):
        imports.confirm_import(job.id, manager.id)
