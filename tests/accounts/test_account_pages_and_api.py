"""The accounts API and console: list with coverage, one account, rename/domain/merge, persona;
bad input is a 4xx that writes nothing."""

from __future__ import annotations

import secrets

from sqlalchemy import select

from challenges.crm import opportunities
from hub.extensions import db
from hub.models import Account, Persona


def _deal(account: str, amount: str = "500.00", **extra):
    data = {
        "external_id": f"opp-{secrets.token_hex(4)}",
        "name": "Deal",
        "account": account,
        "amount": amount,
        "currency": "USD",
        "stage": "Discovery",
        "created_date": "2026-01-05",
    } | extra
    result = opportunities.upsert_opportunity(opportunities.parse_opportunity(data), tally=False)
    db.session.commit()
    return result.opportunity


def test_coverage_gap_lists_accounts_short_of_two_reference_ready_advocates(api, make):
    manager = make.user("manager")
    covered = [make.advocate(company="Covered Co") for _ in range(2)]
    one = make.advocate(company="Thin Inc")
    unavailable = make.advocate(company="Thin Inc")
    unavailable.available_for_references = False
    db.session.commit()
    _deal("Pipeline Only", "1200.00")
    _deal("Closed Co", "99.00", is_closed=True, close_date="2026-02-01")
    client = api(manager)
    everything = client.get("/accounts").json
    assert {r["name"] for r in everything["items"]} == {"Covered Co", "Thin Inc", "Pipeline Only", "Closed Co"}
    gaps = client.get("/accounts?coverage=gap").json["items"]
    by_name = {r["name"]: r for r in gaps}
    assert set(by_name) == {"Thin Inc", "Pipeline Only"}
    assert (by_name["Thin Inc"]["advocates"], by_name["Thin Inc"]["reference_ready"]) == (2, 1)
    assert by_name["Pipeline Only"]["open_pipeline"] == {"amount": "1200.00", "currency": "USD"}
    assert by_name["Pipeline Only"]["next_step"].startswith("No advocate yet")
    assert gaps[0]["name"] == "Pipeline Only"  # most open pipeline first
    assert client.get("/accounts?q=thin").json["total"] == 1
    assert client.get("/accounts?coverage=none").status_code == 422
    assert covered[0].account_id == covered[1].account_id != one.account_id


def test_account_detail_rename_merge_and_persona(api, make):
    manager, sales = make.user("manager"), make.user("sales")
    ada = make.advocate(company="Acme", name="Ada", email="ada@acme.io")
    bob = make.advocate(company="Acme Europe", name="Bob")
    deal = _deal("Acme Europe")
    acme_id, europe_id = ada.account_id, bob.account_id
    client = api(manager)
    detail = client.get(f"/accounts/{bob.account_id}").json
    assert [a["name"] for a in detail["advocates"]] == ["Bob"]
    assert [o["external_id"] for o in detail["opportunities"]] == [deal.external_id]

    set_persona = client.post(f"/advocates/{ada.id}/persona", {"persona": "public_champion"})
    assert set_persona.status_code == 200 and set_persona.json["persona"] == "public_champion"
    assert client.post(f"/advocates/{ada.id}/persona", {"persona": "celebrity"}).status_code == 422
    db.session.expire_all()
    assert ada.persona is Persona.PUBLIC_CHAMPION
    assert client.get(f"/advocates/{ada.id}").json["persona"] == "public_champion"

    renamed = client.patch(f"/accounts/{ada.account_id}", {"name": "Acme Holdings", "domain": "acme.io"})
    assert renamed.status_code == 200 and (renamed.json["name"], renamed.json["domain"]) == ("Acme Holdings", "acme.io")
    refused = client.patch(f"/accounts/{ada.account_id}", {"domain": "gmail.com"})
    assert refused.status_code == 422 and "domain" in refused.json["error"]["fields"]
    assert client.patch(f"/accounts/{ada.account_id}", {"name": "Acme Europe"}).json["error"]["code"] == "invalid_state"

    merged = client.post(f"/accounts/{europe_id}/merge", {"into_id": acme_id})
    assert merged.status_code == 200
    assert sorted(a["name"] for a in merged.json["advocates"]) == ["Ada", "Bob"]
    assert [o["external_id"] for o in merged.json["opportunities"]] == [deal.external_id]
    assert client.get(f"/accounts/{europe_id}").status_code == 404
    assert client.post(f"/accounts/{ada.account_id}/merge", {"into_id": ada.account_id}).status_code == 409
    assert client.post(f"/accounts/{ada.account_id}/merge", {"into_id": "x"}).status_code == 422

    as_sales = api(sales)
    assert as_sales.get("/accounts").status_code == 200
    assert as_sales.patch(f"/accounts/{ada.account_id}", {"name": "Nope"}).status_code == 403
    assert db.session.scalar(select(Account.name).where(Account.id == ada.account_id)) == "Acme Holdings"


def test_console_pages_show_accounts_gaps_and_save_changes(app, make, login):
    manager = make.user("manager")
    ada = make.advocate(
        company="Acme", name="Ada Lovelace", industry="Healthcare", company_size="51-200", region="EMEA"
    )
    _deal("Acme", "750.00")
    client = login(app.test_client(), manager)
    page = client.get("/admin/accounts").get_data(as_text=True)
    assert "Acme" in page and "750.00 USD" in page
    gaps = client.get("/admin/accounts?coverage=gap").get_data(as_text=True)
    assert "Recruit 1 more advocate" in gaps or "Needs 1 more" in gaps
    assert "Healthcare" in gaps and "Find 2 more reference-ready advocates" in gaps
    detail = client.get(f"/admin/accounts/{ada.account_id}").get_data(as_text=True)
    assert "Ada Lovelace" in detail
    token = _csrf(detail)
    bad = client.post(
        f"/admin/accounts/{ada.account_id}", data={"csrf_token": token, "name": "Acme", "domain": "gmail.com"}
    )
    assert bad.status_code == 422 and "free-mail" in bad.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Account, ada.account_id).domain is None
    saved = client.post(
        f"/admin/accounts/{ada.account_id}", data={"csrf_token": token, "name": "Acme Corp", "domain": "acme.io"}
    )
    assert saved.status_code == 302
    persona = client.post(
        f"/admin/advocates/{ada.id}/persona",
        data={"csrf_token": token, "persona": "private_reference", "next_account": str(ada.account_id)},
    )
    assert persona.status_code == 302
    db.session.expire_all()
    assert (db.session.get(Account, ada.account_id).domain, ada.persona) == ("acme.io", Persona.PRIVATE_REFERENCE)


def _csrf(html: str) -> str:
    import re

    return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html).group(1)


def test_reference_ready_counts_agree_with_the_caps_rules(ctx, make):
    """The SQL fast path (no recent ask, no blackouts) and the per-advocate rules give what
    caps.reference_ready gives for everyone."""
    import datetime as dt

    from challenges import caps
    from challenges.accounts import queries
    from hub.db import utcnow
    from hub.models import Advocate

    now = utcnow()
    plain = make.advocate(company="Acme")
    capped = make.advocate(company="Acme")
    asked_long_ago = make.advocate(company="Acme")
    away = make.advocate(company="Acme")
    away.preferences = {
        "blackouts": [{"start": now.date().isoformat(), "end": (now + dt.timedelta(days=2)).date().isoformat()}]
    }
    past_blackout = make.advocate(company="Acme")
    past_blackout.preferences = {"blackouts": [{"start": "2020-01-01", "end": "2020-01-05"}]}
    db.session.commit()
    caps.claim_ask(capped.id, "reference_call", "test", "recent", at=now - dt.timedelta(days=3))
    caps.claim_ask(asked_long_ago.id, "reference_call", "test", "old", at=now - dt.timedelta(days=40))
    db.session.commit()
    everyone = db.session.scalars(select(Advocate).where(Advocate.account_id == plain.account_id)).all()
    expected = caps.reference_ready(everyone, now)
    assert expected == {plain.id, asked_long_ago.id, past_blackout.id}
    totals, ready = queries._ready_by_account([plain.account_id], now)
    assert (totals[plain.account_id], ready[plain.account_id]) == (5, len(expected))


def test_a_blank_or_null_account_name_is_refused_not_ignored(api, make):
    """PATCH {"name": ""} once answered 200 and kept the old name: a sent name must be a name."""
    manager = make.user("manager")
    ada = make.advocate(company="Acme", name="Ada")
    client = api(manager)
    for blank in ("", "   ", None):
        refused = client.patch(f"/accounts/{ada.account_id}", {"name": blank, "domain": "acme.io"})
        assert refused.status_code == 422, blank
        assert list(refused.json["error"]["fields"]) == ["name"]
    db.session.expire_all()
    assert db.session.get(Account, ada.account_id).domain is None  # nothing of the request written
    kept = client.patch(f"/accounts/{ada.account_id}", {"domain": "acme.io"})
    assert kept.status_code == 200 and (kept.json["name"], kept.json["domain"]) == ("Acme", "acme.io")


def test_merging_into_an_unknown_account_in_the_console_says_so_on_the_form(app, make, login):
    """The merge form once answered an unknown target id with the 404 page of the whole site."""
    manager = make.user("manager")
    ada = make.advocate(company="Acme", name="Ada Lovelace")
    client = login(app.test_client(), manager)
    token = _csrf(client.get(f"/admin/accounts/{ada.account_id}").get_data(as_text=True))
    unknown = ada.account_id + 1000
    refused = client.post(f"/admin/accounts/{ada.account_id}/merge", data={"csrf_token": token, "into_id": unknown})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "No account has this id." in page and "Ada Lovelace" in page
    db.session.expire_all()
    assert db.session.get(Account, ada.account_id).merged_into_id is None


def test_an_advocate_page_sets_the_persona_and_links_the_account(app, make, login):
    """The persona could only be set from an account page, so an advocate without an account
    (no company, a free-mail address) could not be given one in the console at all."""
    manager = make.user("manager")
    loner = make.advocate(name="Lone Wolf", email="lone.wolf@gmail.com", company=None)
    ada = make.advocate(name="Ada Lovelace", company="Acme")
    assert loner.account_id is None
    client = login(app.test_client(), manager)
    page = client.get(f"/admin/advocates/{loner.id}").get_data(as_text=True)
    assert f'action="/admin/advocates/{loner.id}/persona"' in page and "Private reference" in page
    saved = client.post(
        f"/admin/advocates/{loner.id}/persona", data={"csrf_token": _csrf(page), "persona": "private_reference"}
    )
    assert saved.status_code == 302 and saved.headers["Location"] == f"/admin/advocates/{loner.id}"
    db.session.expire_all()
    assert loner.persona is Persona.PRIVATE_REFERENCE
    shown = client.get(f"/admin/advocates/{loner.id}").get_data(as_text=True)
    assert '<option value="private_reference" selected' in shown
    assert f'href="/admin/accounts/{ada.account_id}"' in client.get(f"/admin/advocates/{ada.id}").get_data(as_text=True)
