"""Accounts (product.md §13): name normalization, free-mail domains, linking advocates and
opportunities on create and by the full relink, rename, domain, merge — and attribution's
same-account touch through the account, the full and the incremental tally agreeing."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import select, update

from challenges.accounts import services
from challenges.crm import attribution, opportunities
from challenges.crm.models import AttributionTouch, Opportunity, TouchKind
from hub.account_links import company_domain, company_key, relink_all
from hub.errors import InvalidState, ValidationFailed
from hub.extensions import db
from hub.models import Account, Advocate
from tests.support.attribution import snapshot


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("Acme", "acme"),
        ("  ACME   ", "acme"),
        ("acme, Inc.", "acme"),
        ("Acme Inc", "acme"),
        ("Acme Incorporated", "acme"),
        ("Acme GmbH", "acme"),
        ("Acme Ltd.", "acme"),
        ("Acme Limited", "acme"),
        ("Acme Holdings Co., Ltd.", "acme holdings"),
        ("Acme S.A.", "acme"),
        ("Acme-Widgets LLC", "acme widgets"),
        ("Acme\tWidgets", "acme widgets"),
        ("O'Reilly Media", "oreilly media"),
        ("Müller GmbH", "müller"),
        ("ＡＣＭＥ", "acme"),  # full-width letters: the compatibility form
        ("Inc", "inc"),  # a name that is only a legal form keeps it
        ("Ltd GmbH", "ltd"),
        ("", ""),
        ("  ., ", ""),
        (None, ""),
    ],
)
def test_company_names_normalize(raw, key):
    assert company_key(raw) == key


@pytest.mark.parametrize(
    ("email", "domain"),
    [
        ("ada@acme.com", "acme.com"),
        ("Ada@ACME.com", "acme.com"),
        ("ada@gmail.com", None),
        ("ada@googlemail.com", None),
        ("ada@hotmail.co.uk", None),
        ("ada@outlook.com", None),
        ("ada@proton.me", None),
        ("ada@example.com", None),
        ("ada@shop.test", None),
        ("nobody", None),
        ("", None),
    ],
)
def test_free_mail_and_reserved_domains_name_no_company(email, domain):
    assert company_domain(email) == domain


def _opportunity(**overrides):
    data = {
        "external_id": f"opp-{secrets.token_hex(4)}",
        "name": "Deal",
        "account": "Acme",
        "amount": "900.00",
        "currency": "USD",
        "stage": "Discovery",
        "created_date": "2026-01-05",
    } | overrides
    result = opportunities.upsert_opportunity(opportunities.parse_opportunity(data), tally=False)
    db.session.commit()
    return result.opportunity


def _account(advocate) -> Account | None:
    db.session.refresh(advocate)
    return db.session.get(Account, advocate.account_id) if advocate.account_id else None


def test_advocates_join_one_account_by_normalized_name_or_company_domain(ctx, make):
    ada = make.advocate(company="Acme, Inc.", email="ada@acme.io")
    bob = make.advocate(company="ACME", email="bob@gmail.com")
    cy = make.advocate(email="cy@acme.io")  # no company: the domain Ada's account took
    dee = make.advocate(email="dee@gmail.com")  # free mail and no company: no account
    eve = make.advocate(email="eve@globex.example.org")  # reserved: no account
    fay = make.advocate(email="fay@initech.com")  # a new company domain: a new account
    account = _account(ada)
    assert account is not None and (account.name, account.name_key, account.domain) == ("Acme, Inc.", "acme", "acme.io")
    assert _account(bob).id == _account(cy).id == account.id
    assert _account(dee) is None and _account(eve) is None
    assert (_account(fay).name, _account(fay).domain) == ("initech.com", "initech.com")
    assert db.session.scalar(select(db.func.count()).select_from(Account)) == 2


def test_opportunities_link_by_account_name_then_contact_domain(ctx, make):
    ada = make.advocate(company="Acme GmbH", email="ada@acme.io")
    named = _opportunity(account="acme")
    other = _opportunity(account="Globex Ltd", contact_emails="x@gmail.com")
    assert named.account_id == ada.account_id
    assert db.session.get(Account, other.account_id).name_key == "globex"


def test_same_account_touch_follows_the_account_not_the_name(ctx, make):
    ada = make.advocate(company="Acme Inc.", email="ada@acme.io")
    opportunity = _opportunity(account="ACME")  # a different spelling of the same company
    stranger = make.advocate(company="Initech")
    attribution.tally([opportunity.id])
    db.session.commit()
    touches = db.session.execute(
        select(AttributionTouch.advocate_id, AttributionTouch.kind).where(
            AttributionTouch.opportunity_id == opportunity.id
        )
    ).all()
    assert touches == [(ada.id, TouchKind.SAME_ACCOUNT)]
    assert stranger.id not in {t[0] for t in touches}


def test_full_relink_repairs_every_link_and_changes_nothing_twice(ctx, make):
    ada = make.advocate(company="Acme", email="ada@acme.io")
    bob = make.advocate(company="Globex")
    opportunity = _opportunity(account="Globex Corporation")
    db.session.execute(update(Advocate).values(account_id=None))
    db.session.execute(update(Opportunity).values(account_id=None))
    db.session.commit()
    first = relink_all(db.session.connection())
    db.session.commit()
    assert (first.accounts_created, first.advocates_changed, first.opportunities_changed) == (0, 2, 1)
    assert _account(ada).name_key == "acme" and _account(bob).name_key == "globex"
    db.session.refresh(opportunity)
    assert opportunity.account_id == bob.account_id
    second = relink_all(db.session.connection())
    assert (second.accounts_created, second.advocates_changed, second.opportunities_changed) == (0, 0, 0)


def test_the_relink_recounts_only_what_it_may_change_and_agrees_with_a_full_tally(ctx, make):
    ada = make.advocate(company="Acme", email="ada@acme.io")
    make.advocate(company="Globex")
    acme_deal = _opportunity(account="Acme", amount="1000.00")
    _opportunity(account="Globex", amount="300.00")
    _opportunity(account="Initech", amount="50.00")
    attribution.tally(None)
    db.session.commit()
    expected = snapshot()
    # Ada's link lost (as a bad import might leave it) and her deal recounted without her
    db.session.execute(update(Advocate).where(Advocate.id == ada.id).values(account_id=None))
    attribution.tally([acme_deal.id])
    db.session.commit()
    assert snapshot() != expected

    result, recounted = services.relink_everything()
    db.session.commit()
    assert (result.advocates_changed, result.changed_account_ids, recounted) == (1, {_account(ada).id}, 1)
    assert snapshot() == expected
    _, recounted = services.relink_everything(full_recount=True)
    db.session.commit()
    assert recounted == 3 and snapshot() == expected


def test_relink_creates_missing_accounts_with_the_same_rules(ctx, make):
    ada = make.advocate(company="Umbrella plc", email="ada@umbrella.co")
    cy = make.advocate(email="cy@umbrella.co")
    db.session.execute(update(Advocate).values(account_id=None))
    db.session.execute(update(Account).values(domain=None))
    db.session.execute(Account.__table__.delete())
    db.session.commit()
    result = relink_all(db.session.connection())
    db.session.commit()
    assert result.accounts_created == 1
    assert _account(ada).id == _account(cy).id and _account(ada).domain == "umbrella.co"


def test_merge_moves_everything_and_the_tallies_agree(ctx, make):
    ada = make.advocate(company="Acme", email="ada@acme.io")
    bob = make.advocate(company="Acme Europe", email="bob@acme.eu")
    deal = _opportunity(account="Acme", amount="1000.00")
    eu_deal = _opportunity(account="Acme Europe", amount="300.00")
    attribution.tally(None)
    db.session.commit()
    survivor, merged = ada.account_id, bob.account_id
    assert survivor != merged

    result = services.merge(merged, survivor, actor_id=None)
    db.session.commit()
    assert result.id == survivor and result.domain == "acme.io"
    assert _account(bob).id == survivor
    assert {o.account_id for o in db.session.scalars(select(Opportunity))} == {survivor}
    assert db.session.get(Account, merged).merged_into_id == survivor
    # both advocates now touch both deals, each deal's credit split between them
    touches = set(db.session.execute(select(AttributionTouch.opportunity_id, AttributionTouch.advocate_id)).all())
    assert touches == {(deal.id, ada.id), (deal.id, bob.id), (eu_deal.id, ada.id), (eu_deal.id, bob.id)}
    incremental = snapshot()
    attribution.tally(None)
    db.session.commit()
    assert snapshot() == incremental
    # the merged name and domain still resolve to the survivor
    assert make.advocate(company="ACME EUROPE").account_id == survivor
    assert make.advocate(email="cy@acme.eu").account_id == survivor
    with pytest.raises(InvalidState):
        services.merge(survivor, survivor, actor_id=None)


def test_rename_keeps_the_old_name_and_refuses_a_taken_one(ctx, make):
    ada = make.advocate(company="Acme")
    make.advocate(company="Globex")
    account = services.rename(ada.account_id, "Acme Holdings", actor_id=None)
    db.session.commit()
    assert (account.name, account.name_key) == ("Acme Holdings", "acme holdings")
    assert make.advocate(company="acme").account_id == ada.account_id
    with pytest.raises(InvalidState):
        services.rename(ada.account_id, "Globex Inc", actor_id=None)
    db.session.rollback()
    with pytest.raises(ValidationFailed):
        services.rename(ada.account_id, "   ", actor_id=None)


def test_set_domain_gathers_advocates_and_refuses_free_mail_and_taken_domains(ctx, make):
    ada = make.advocate(company="Acme")
    cy = make.advocate(company=None, email="cy@gmail.com")
    globex = make.advocate(company="Globex", email="g@globex.com")
    with pytest.raises(ValidationFailed):
        services.set_domain(ada.account_id, "gmail.com", actor_id=None)
    with pytest.raises(ValidationFailed):
        services.set_domain(ada.account_id, "not a domain", actor_id=None)
    with pytest.raises(InvalidState):
        services.set_domain(ada.account_id, "globex.com", actor_id=None)
    db.session.rollback()
    services.set_domain(ada.account_id, "acme.com", actor_id=None)
    db.session.commit()
    assert make.advocate(email="dan@acme.com").account_id == ada.account_id
    assert _account(cy) is None and _account(globex).domain == "globex.com"


@pytest.mark.services
def test_the_relink_writes_links_in_bulk_on_postgres(pg_ctx, make):
    ada = make.advocate(company="Bulk Acme Inc", email="ada@bulk-acme.io")
    cy = make.advocate(email="cy@bulk-acme.io")
    deal = _opportunity(account="bulk acme", external_id=f"bulk-{secrets.token_hex(4)}")
    db.session.execute(update(Advocate).where(Advocate.id.in_([ada.id, cy.id])).values(account_id=None))
    db.session.execute(update(Opportunity).where(Opportunity.id == deal.id).values(account_id=None))
    db.session.commit()
    result = relink_all(db.session.connection(), batch=1)
    db.session.commit()
    assert result.advocates_changed >= 2 and deal.id in result.changed_opportunity_ids
    db.session.expire_all()
    assert ada.account_id == cy.account_id == deal.account_id is not None
