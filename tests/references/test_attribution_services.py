"""PostgreSQL: exactly-once referral bonus under a parallel CRM, and the attribution tally —
full recomputation equals the incremental path on 10,000 opportunities; two tallies at once agree."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter

import pytest
from sqlalchemy import text

from challenges.crm import attribution
from challenges.referrals import services as referrals
from hub.account_links import relink_all
from hub.extensions import db
from rewards.models import LedgerEntry
from tests.support.attribution import overcredited_deals, snapshot
from tests.support.threads import run_together


@pytest.mark.services
@pytest.mark.parametrize("exists_already", [False, True])
@pytest.mark.multi_connection
def test_ten_parallel_closed_won_events_pay_one_bonus(pg_app, make, exists_already):
    from challenges import services as challenge_services

    with pg_app.app_context():
        owner = make.user("owner")
        token = make.token(owner)
        challenge = challenge_services.create_challenge(
            challenge_services.clean_challenge(
                {
                    "title": "Refer a peer",
                    "type": "referral",
                    "description": "x",
                    "points": 300,
                    "bonus_points": 900,
                    "max_per_advocate": 5,
                }
            ),
            None,
        )
        challenge_services.publish_challenge(challenge.id, None)
        db.session.commit()
        ada = make.advocate()
        referral = referrals.submit_referral(
            ada.id,
            referrals.parse_referral(
                {"name": "Lead", "email": "lead@acme.example", "company": "Acme", "consent": True}
            ),
        )
        db.session.commit()
        advocate_id, referral_id = ada.id, referral.id
    body = {
        "external_id": "SF-RACE",
        "name": "Race",
        "account": "Acme",
        "amount": "5000.00",
        "currency": "USD",
        "stage": "Closed Won",
        "is_closed": True,
        "is_won": True,
        "created_date": "2026-10-01",
        "close_date": dt.date.today().isoformat(),
        "referral_id": referral_id,
    }
    headers = {"Authorization": f"Bearer {token}"}
    if exists_already:
        first = pg_app.test_client().post(
            "/api/v1/crm/opportunities",
            json=body | {"is_closed": False, "is_won": False, "stage": "Proposal"},
            headers=headers,
        )
        assert first.status_code == 201

    def work(_i: int) -> int:
        return pg_app.test_client().post("/api/v1/crm/opportunities", json=body, headers=headers).status_code

    outcomes = run_together(10, work)
    assert set(outcomes) <= {200, 201} and outcomes[201] == (0 if exists_already else 1)
    with pg_app.app_context():
        entries = db.session.execute(
            db.select(LedgerEntry.kind, LedgerEntry.source_type, LedgerEntry.delta)
            .where(LedgerEntry.advocate_id == advocate_id)
            .order_by(LedgerEntry.id)
        ).all()
        assert [(k.value, s, d) for k, s, d in entries] == [("earn", "completion", 300), ("bonus", "referral_won", 900)]
        assert (
            db.session.execute(text("SELECT balance FROM advocates WHERE id = :id"), {"id": advocate_id}).scalar()
            == 1200
        )


N_OPPORTUNITIES = 10_000
WORKERS = 3


def generate_program(n_opportunities: int) -> dict[str, int]:
    """A realistic CRM data set through set-based INSERT … SELECT (no row-by-row ORM)."""
    now = dt.datetime.now(dt.UTC)
    params = {"now": now, "n": n_opportunities}
    statements = [
        # 1 sales user + 600 advocates at 400 accounts (some at none), joined over two years
        """INSERT INTO users (email, name, role, is_active_user, created_at)
           SELECT 'gen' || i || '@example.com', 'Gen ' || i, CASE WHEN i = 0 THEN 'sales' ELSE 'advocate' END,
                  true, :now FROM generate_series(0, 600) AS i""",
        """INSERT INTO advocates (user_id, company, tier, balance, lifetime_points, show_on_leaderboard,
                                  available_for_references, preferences, joined_at, is_erased)
           SELECT u.id, CASE WHEN u.id % 7 = 0 THEN NULL ELSE ' Account ' || (u.id * 37 % 400) END, 'bronze', 0, 0,
                  true, true, '{}', :now - make_interval(days => (u.id * 13 % 730)), false
           FROM users u WHERE u.role = 'advocate' AND u.email LIKE 'gen%'""",
        # 2,000 referrals, one in 20 flagged
        """INSERT INTO referrals (advocate_id, name, email, email_key, claimed_email_key, company, consent, status,
                                  flag_reason, points, bonus_points, created_at)
           SELECT a.id, 'Lead ' || i, 'lead' || i || '@x.example', 'lead' || i || '@x.example',
                  CASE WHEN i % 20 = 0 THEN NULL ELSE 'lead' || i || '@x.example' END, 'Lead Co', true,
                  CASE WHEN i % 20 = 0 THEN 'flagged' ELSE 'submitted' END,
                  CASE WHEN i % 20 = 0 THEN 'already_referred' END, 0, 0,
                  :now - make_interval(days => 400 + i % 200)
           FROM generate_series(1, 2000) AS i
           JOIN LATERAL (SELECT id FROM advocates ORDER BY id OFFSET (i * 31 % 600) LIMIT 1) a ON true""",
        # 3,000 reference requests, two in three accepted or completed
        """INSERT INTO reference_requests (requested_by_id, prospect_company, industry, company_size, use_case, stage,
                                           needed_by, format, topics, status, advocate_id, created_at, accepted_at,
                                           alternatives)
           SELECT (SELECT id FROM users WHERE email = 'gen0@example.com'), 'Prospect ' || i, 'Software', '51-200',
                  'Onboarding', 'evaluation', DATE '2026-12-31', 'phone', '[]',
                  CASE i % 3 WHEN 0 THEN 'open' WHEN 1 THEN 'accepted' ELSE 'completed' END,
                  CASE WHEN i % 3 = 0 THEN NULL ELSE a.id END,
                  :now - make_interval(days => i % 500),
                  CASE WHEN i % 3 = 0 THEN NULL ELSE :now - make_interval(days => i % 500, hours => 30) END, '[]'
           FROM generate_series(1, 3000) AS i
           JOIN LATERAL (SELECT id FROM advocates ORDER BY id OFFSET (i * 17 % 600) LIMIT 1) a ON true""",
        # the opportunities: a fifth referred, a third closed (half of those won), amounts to the cent
        """INSERT INTO opportunities (external_id, name, account, account_key, amount, currency, stage, is_closed,
                                          is_won, created_date, close_date, close_cutoff_at, cycle_days,
                                          contact_emails, referral_id, reference_request_ids, created_at, updated_at,
                                          version)
           SELECT 'GEN-' || i, 'Deal ' || i, 'Account ' || (i * 7 % 450), lower('Account ' || (i * 7 % 450)),
                  ((i * 7919) % 9999991) / 100.0, CASE WHEN i % 10 = 0 THEN 'EUR' ELSE 'USD' END,
                  CASE WHEN i % 3 = 0 THEN 'Closed' ELSE 'Open' END, i % 3 = 0, i % 6 = 0,
                  DATE '2025-01-01' + (i % 600),
                  CASE WHEN i % 3 = 0 THEN DATE '2025-01-01' + (i % 600) + (i % 170) END,
                  CASE WHEN i % 3 = 0 THEN (DATE '2025-01-01' + (i % 600) + (i % 170) + 1)::timestamptz END,
                  CASE WHEN i % 3 = 0 THEN i % 170 END, '[]',
                  CASE WHEN i % 5 = 0 THEN (SELECT min(id) FROM referrals) + (i / 5) % 2000 END, '[]',
                  :now, :now, 1
           FROM generate_series(1, :n) AS i""",
        # links from reference requests to opportunities (a quarter of the requests)
        """INSERT INTO opportunity_references (opportunity_external_id, reference_request_id)
           SELECT 'GEN-' || ((r.id * 101) % :n + 1), r.id FROM reference_requests r WHERE r.id % 4 <> 0""",
    ]
    for statement in statements:
        db.session.execute(text(statement), params)
    relink_all(db.session.connection())  # rows written in SQL get their accounts as the migration's backfill does
    db.session.commit()
    return {
        table: db.session.execute(text(f"SELECT count(*) FROM {table}")).scalar()  # noqa: S608
        for table in ("advocates", "referrals", "reference_requests", "opportunities", "opportunity_references")
    }


@pytest.mark.services
@pytest.mark.multi_connection
def test_full_tally_equals_incremental_on_ten_thousand_opportunities(pg_app, capsys):
    with pg_app.app_context():
        started = time.perf_counter()
        counts = generate_program(N_OPPORTUNITIES)
        generated = time.perf_counter() - started
        assert counts["opportunities"] == N_OPPORTUNITIES
        ids = db.session.execute(text("SELECT id FROM opportunities ORDER BY id")).scalars().all()
        db.session.remove()

    def incremental_stripe(i: int) -> str:
        """One CRM event after another: each opportunity tallied on its own (3 workers at once)."""
        with pg_app.app_context():
            try:
                for n, opportunity_id in enumerate(ids[i::WORKERS], 1):
                    attribution.tally([opportunity_id])
                    if n % 250 == 0:
                        db.session.commit()
                db.session.commit()
                return "ok"
            finally:
                db.session.remove()

    started = time.perf_counter()
    assert run_together(WORKERS, incremental_stripe) == Counter({"ok": WORKERS})
    incremental_seconds = time.perf_counter() - started
    with pg_app.app_context():
        incremental = snapshot()

        started = time.perf_counter()
        result = attribution.tally(None, count=True)
        db.session.commit()
        full_seconds = time.perf_counter() - started
        full = snapshot()

        assert result.touches == len(full[0]) and result.credits == len(full[1])
        assert len(full[0]) > N_OPPORTUNITIES and len(full[1]) > N_OPPORTUNITIES // 2
        assert {kind for _, _, kind, _ in full[0]} == {"referral", "reference_call", "same_account"}
        assert incremental == full
        assert overcredited_deals() == 0
        assert (
            db.session.execute(
                text(
                    "SELECT count(*) FROM (SELECT c.opportunity_id FROM attribution_credits c JOIN opportunities o"
                    " ON o.id = c.opportunity_id GROUP BY c.opportunity_id, o.amount"
                    " HAVING sum(c.influenced_amount) <> o.amount) bad"
                )
            ).scalar()
            == 0
        )
    with capsys.disabled():
        print(
            f"\n[attribution] generated {counts} in {generated:.2f} s; incremental tally of "
            f"{N_OPPORTUNITIES:,} opportunities one at a time ({WORKERS} workers): {incremental_seconds:.2f} s; "
            f"full tally: "
            f"{full_seconds:.2f} s ({len(full[0]):,} touches, {len(full[1]):,} credits)"
        )


@pytest.mark.services
@pytest.mark.multi_connection
def test_two_tallies_at_once_give_identical_totals(pg_app):
    with pg_app.app_context():
        generate_program(2_000)
        attribution.tally(None)
        db.session.commit()
        expected = snapshot()
        some_ids = db.session.execute(text("SELECT id FROM opportunities ORDER BY id LIMIT 50")).scalars().all()

    def work(i: int) -> str:
        with pg_app.app_context():
            try:
                attribution.tally(None if i < 2 else some_ids[i::2])
                db.session.commit()
                return "ok"
            finally:
                db.session.remove()

    assert run_together(4, work) == Counter({"ok": 4})
    with pg_app.app_context():
        assert snapshot() == expected


@pytest.mark.services
@pytest.mark.multi_connection
def test_parallel_assignments_respect_the_reference_cap_and_the_request_state(pg_app, make):
    """Ten requests assign the same advocate at once (cap 1 per 30 days) → one ask, nine 409
    cap_reached; five managers assign different advocates to one request → one wins."""
    from challenges.references import services

    with pg_app.app_context():
        manager = make.user("manager")
        token = make.token(manager)
        sales = make.user("sales")
        ada = make.advocate()
        others = [make.advocate().id for _ in range(5)]
        needed_by = (dt.date.today() + dt.timedelta(days=9)).isoformat()
        request_ids = []
        for i in range(11):
            rr = services.file_request(
                sales.id,
                services.parse_request(
                    {
                        "prospect_company": f"P{i}",
                        "industry": "Software",
                        "company_size": "1-50",
                        "use_case": "x",
                        "stage": "poc",
                        "needed_by": needed_by,
                        "format": "phone",
                    }
                ),
            )
            request_ids.append(rr.id)
        db.session.commit()
        ada_id = ada.id
    headers = {"Authorization": f"Bearer {token}"}

    def assign_ada(i: int) -> str:
        response = pg_app.test_client().post(
            f"/api/v1/reference-requests/{request_ids[i]}/assign", json={"advocate_id": ada_id}, headers=headers
        )
        return response.json["status"] if response.status_code == 200 else response.json["error"]["code"]

    assert run_together(10, assign_ada) == Counter({"matched": 1, "cap_reached": 9})

    def assign_one_request(i: int) -> str:
        response = pg_app.test_client().post(
            f"/api/v1/reference-requests/{request_ids[10]}/assign", json={"advocate_id": others[i]}, headers=headers
        )
        return response.json["status"] if response.status_code == 200 else response.json["error"]["code"]

    assert run_together(5, assign_one_request) == Counter({"matched": 1, "invalid_state": 4})
    with pg_app.app_context():
        asks = db.session.execute(
            text("SELECT advocate_id, count(*) FROM asks WHERE cancelled_at IS NULL GROUP BY advocate_id")
        ).all()
        assert sorted(n for _, n in asks) == [1, 1]
        assert db.session.execute(text("SELECT count(*) FROM reference_assignments")).scalar() == 2
