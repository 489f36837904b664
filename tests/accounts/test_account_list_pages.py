"""The account list a page at a time (`queries.account_page`, used by `/accounts` and the
console) gives the same rows, order, totals and sums as the whole list (`account_rows`), while
summing won revenue only for the page's accounts."""

from __future__ import annotations

import secrets
from decimal import Decimal

from challenges.accounts import queries
from challenges.crm import opportunities
from challenges.crm.models import AttributionCredit
from hub.extensions import db


def _deal(account: str, amount: str, **extra):
    data = {
        "external_id": f"opp-{secrets.token_hex(4)}",
        "name": "Deal",
        "account": account,
        "amount": amount,
        "currency": "USD",
        "stage": "Discovery",
        "created_date": "2026-01-05",
    } | extra
    return opportunities.upsert_opportunity(opportunities.parse_opportunity(data), tally=False).opportunity


def _seed(make):
    champions = {name: make.advocate(company=name) for name in ("Alpha", "Bravo", "Charlie", "Delta", "Echo")}
    make.advocate(company="Alpha")  # Alpha: 2 ready, covered
    for name, amount in (("Alpha", "900.00"), ("Bravo", "700.00"), ("Charlie", "500.00"), ("Foxtrot", "300.00")):
        _deal(name, amount)
    won = _deal("Charlie", "250.00", is_closed=True, is_won=True, stage="Closed Won", close_date="2026-02-01")
    db.session.add(
        AttributionCredit(
            opportunity_id=won.id,
            advocate_id=champions["Charlie"].id,
            created_date=won.created_date,
            currency="USD",
            is_closed=True,
            is_won=True,
            sourced_amount=Decimal("250.00"),
            influenced_amount=Decimal("250.00"),
        )
    )
    db.session.commit()


def _fields(row: queries.AccountRow) -> tuple:
    return (
        row.id,
        row.name,
        row.advocates,
        row.reference_ready,
        row.open_pipeline,
        row.sourced_won,
        row.influenced_won,
        row.last_act_at,
    )


def test_pages_of_the_list_are_the_whole_list_cut_in_pages(ctx, make):
    _seed(make)
    for gap in (False, True):
        whole = queries.account_rows(gap=gap)
        pages, total = [], None
        for offset in range(0, len(whole) + 2, 2):
            page, total = queries.account_page(gap=gap, offset=offset, limit=2)
            pages.extend(page)
        assert total == len(whole)
        assert [_fields(r) for r in pages] == [_fields(r) for r in whole]
    gap_names = [r.name for r in queries.account_page(gap=True, limit=50)[0]]
    # Alpha has two reference-ready advocates; the others are sorted by open pipeline, then name
    assert gap_names == ["Bravo", "Charlie", "Foxtrot", "Delta", "Echo"]
    charlie = next(r for r in queries.account_page(gap=True, offset=1, limit=1)[0])
    assert (charlie.name, charlie.sourced_won, charlie.influenced_won) == (
        "Charlie",
        Decimal("250.00"),
        Decimal("250.00"),
    )


def test_the_api_pages_through_the_gaps_with_the_won_revenue(api, make):
    _seed(make)
    client = api(make.user("manager"))
    first = client.get("/accounts?coverage=gap&per_page=2&page=1").json
    second = client.get("/accounts?coverage=gap&per_page=2&page=2").json
    assert first["total"] == 5
    assert [i["name"] for i in first["items"] + second["items"]] == ["Bravo", "Charlie", "Foxtrot", "Delta"]
    charlie = first["items"][1]
    assert charlie["sourced_won"] == {"amount": "250.00", "currency": "USD"}
    assert second["items"][0]["sourced_won"]["amount"] == "0.00"
