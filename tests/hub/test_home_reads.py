"""The hub page's card reads sent together in one statement (hub.home_reads, issue 22): the rows
read together equal the rows each query returns alone, on SQLite and PostgreSQL; the cards'
functions answer the same either way; the rows serve only the request that read them; and the
page sends the cards' queries as one statement."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask
from sqlalchemy import event, insert

from hub.extensions import db

T0 = dt.datetime(2026, 11, 3, 9, 30, 15, 123456, tzinfo=dt.UTC)
TRICKY_MEMO = 'A “quoted” memo, with \\ backslash, "quotes" and é — 🎉'


def _seed(make, make_user) -> dict:
    """An advocate with something in every card, and a second advocate whose rows must not show."""
    from challenges.crm.models import AttributionTouch, Opportunity, TouchKind
    from challenges.references.models import AssignmentStatus, ReferenceAssignment, ReferenceRequest
    from hub.notifications import mark_all_read, notify
    from rewards.badges import award_badges
    from rewards.ledger import post_entry

    me, other = make.advocate(), make.advocate()
    sales = make_user("sales")
    # Seven entries (the card shows five), one a spend with a tricky memo, two at the same instant.
    for n in range(6):
        post_entry(
            me.id, 10 + n, kind="earn", source_type="completion", source_id=n, at=T0 + dt.timedelta(hours=n // 2)
        )
    post_entry(
        me.id, -7, kind="redeem", source_type="redemption", source_id=1, memo=TRICKY_MEMO, at=T0 + dt.timedelta(hours=3)
    )
    post_entry(me.id, 40, kind="bonus", source_type="test", source_id="bonus", at=T0 + dt.timedelta(days=1))
    post_entry(other.id, 99, kind="earn", source_type="completion", source_id=99, at=T0 + dt.timedelta(days=2))
    award_badges(me.id, ["completions_5"], at=T0 + dt.timedelta(hours=5))
    award_badges(me.id, ["first_completion"], at=T0)
    award_badges(other.id, ["completions_25"], at=T0)
    notify(me.user_id, "points", "read one")
    mark_all_read(me.user_id)
    notify(me.user_id, "points", "unread one")
    notify(me.user_id, "points", "unread two")
    notify(other.user_id, "points", "not mine")
    statuses = [AssignmentStatus.ASKED, AssignmentStatus.DECLINED, AssignmentStatus.ASKED]
    for n, status in enumerate(statuses):
        request_id = db.session.execute(
            insert(ReferenceRequest)
            .values(
                requested_by_id=sales.id,
                prospect_company=f"Prospect {n} “Ltd”",
                industry="Software",
                company_size="51-200",
                use_case="Migration",
                stage="evaluation",
                needed_by=dt.date(2026, 12, 20),
                format="video",
            )
            .returning(ReferenceRequest.id)
        ).scalar_one()
        db.session.execute(
            insert(ReferenceAssignment).values(
                request_id=request_id, advocate_id=me.id, status=status, asked_at=T0 + dt.timedelta(days=n)
            )
        )
    deals = []
    for n, (stage, closed, won) in enumerate([("Negotiation", False, False), ("Closed Won", True, True)]):
        deal_id = db.session.execute(
            insert(Opportunity)
            .values(
                external_id=f"home-reads-opp-{n}",
                name=f"Deal {n}",
                account=f"Account {n}",
                account_key=f"account {n}",
                amount=1000,
                currency="EUR",
                stage=stage,
                is_closed=closed,
                is_won=won,
                created_date=dt.date(2026, 10, 1),
                updated_at=T0 + dt.timedelta(days=n),
            )
            .returning(Opportunity.id)
        ).scalar_one()
        deals.append(deal_id)
    touches = [(deals[0], TouchKind.SAME_ACCOUNT), (deals[0], TouchKind.REFERRAL), (deals[1], TouchKind.REFERENCE_CALL)]
    for deal_id, kind in touches:
        db.session.execute(
            insert(AttributionTouch).values(opportunity_id=deal_id, advocate_id=me.id, kind=kind, touched_at=T0)
        )
    db.session.execute(
        insert(AttributionTouch).values(
            opportunity_id=deals[1], advocate_id=other.id, kind=TouchKind.REFERRAL, touched_at=T0
        )
    )
    db.session.commit()
    return {"me": me, "other": other, "deals": deals}


def test_rows_read_together_equal_each_query_alone_on_sqlite(app, make):
    _rows_read_together_equal_each_query_alone(app, make)


@pytest.mark.services
def test_rows_read_together_equal_each_query_alone_on_postgresql(pg_app, make):
    _rows_read_together_equal_each_query_alone(pg_app, make)


def test_cards_answer_the_same_read_together_or_alone_on_sqlite(app, make):
    _cards_answer_the_same_read_together_or_alone(app, make)


@pytest.mark.services
def test_cards_answer_the_same_read_together_or_alone_on_postgresql(pg_app, make):
    _cards_answer_the_same_read_together_or_alone(pg_app, make)


def _rows_read_together_equal_each_query_alone(any_app: Flask, make) -> None:
    from hub.home_reads import read_together, rows_of
    from hub.hooks import hooks

    with any_app.app_context():
        seeded = _seed(make, make.user)
        me = seeded["me"]
        reads = hooks(any_app).home_reads
        assert {r.name for r in reads} >= {
            "unread_notifications",
            "earned_badges",
            "approved_completions",
            "recent_entries",
            "latest_reference_asks",
            "deals_helped",
            "first_approved_completion",
        }
        together = read_together(reads, me.id, me.user_id)
        for read in reads:
            alone = rows_of(read, advocate_id=me.id, user_id=me.user_id)
            assert sorted(together[read.name], key=repr) == sorted(alone, key=repr), read.name
        # Decoded to the same Python types the query yields alone: aware UTC datetimes, enums.
        (recent_row, *_) = together["recent_entries"]
        assert recent_row[4].tzinfo is not None and recent_row[4].utcoffset() == dt.timedelta(0)
        assert {type(row[2]).__name__ for row in together["recent_entries"]} == {"EntryKind"}
        assert together["unread_notifications"] == [(2,)]
        assert together["approved_completions"] == [(6,)]
        db.session.remove()


def _cards_answer_the_same_read_together_or_alone(any_app: Flask, make) -> None:
    from challenges.crm.reports import deals_helped
    from challenges.references.services import pending_asks
    from hub.home_reads import read_together
    from hub.hooks import hooks
    from hub.notifications import unread_count
    from rewards.badges import badge_catalogue
    from rewards.ledger import home_recent_entries

    def cards(advocate) -> tuple:
        return (
            badge_catalogue(advocate.id),
            home_recent_entries(advocate.id),
            pending_asks(advocate.id),
            deals_helped(advocate.id, limit=3),
            unread_count(advocate.user_id),
        )

    with any_app.app_context():
        seeded = _seed(make, make.user)
        me = seeded["me"]
        alone = cards(me)
        badges, recent, pending, deals, unread = alone
        # Expected values written out from the seed, not read back through the code under test.
        assert [(e.badge.code, e.awarded_at) for e in badges[:2]] == [
            ("first_completion", T0),
            ("completions_5", T0 + dt.timedelta(hours=5)),
        ]
        assert next(e.progress for e in badges if e.badge.code == "completions_25") == "6 of 25"
        assert [(e.delta, e.kind.value) for e in recent] == [
            (40, "bonus"),
            (-7, "redeem"),
            (15, "earn"),
            (14, "earn"),
            (13, "earn"),
        ]
        assert [p.prospect_company for p in pending] == ["Prospect 2 “Ltd”", "Prospect 0 “Ltd”"]
        assert [(d.account, d.is_won, d.kinds) for d in deals] == [
            ("Account 1", True, ("reference_call",)),
            ("Account 0", False, ("referral", "same_account")),
        ]
        assert unread == 2
        with any_app.test_request_context("/"):
            read_together(hooks(any_app).home_reads, me.id, me.user_id)
            statements: list[str] = []

            def record(_conn, _cursor, statement, *_args) -> None:
                statements.append(statement)

            event.listen(db.engine, "before_cursor_execute", record)
            try:
                together = cards(me)
            finally:
                event.remove(db.engine, "before_cursor_execute", record)
            assert together == alone
            assert statements == []  # every card answered from the rows read together
            # Another person in the same request is not answered from this advocate's rows.
            other = seeded["other"]
            assert unread_count(other.user_id) == 1
            assert [e.badge.code for e in badge_catalogue(other.id)][:1] == ["completions_25"]
        db.session.remove()


def test_rows_read_together_serve_only_the_request_that_read_them(ctx, make):
    """An app context that outlives a request (tests, the CLI) must not answer the next request
    from the previous one's rows."""
    from hub.home_reads import read_together
    from hub.hooks import hooks
    from hub.notifications import notify, unread_count

    me = make.advocate()
    notify(me.user_id, "points", "first")
    db.session.commit()
    with ctx.test_request_context("/"):
        read_together(hooks(ctx).home_reads, me.id, me.user_id)
        assert unread_count(me.user_id) == 1
        notify(me.user_id, "points", "second")
        db.session.commit()
        assert unread_count(me.user_id) == 1  # this request's snapshot, read once
    with ctx.test_request_context("/"):
        assert unread_count(me.user_id) == 2


def test_the_hub_page_reads_its_cards_in_one_statement(client, login, make, sql_statements):
    seeded = _seed(make, make.user)
    login(client, seeded["me"].user)
    sql_statements.clear()
    html = client.get("/").get_data(as_text=True)
    cards = ("advocate_badges", "notifications", "ledger_entries", "reference_assignments", "attribution_touches")
    carrying = [s for s in sql_statements if any(table in s for table in cards)]
    assert len(carrying) == 1 and all(table in carrying[0] for table in cards)
    assert "Prospect 2 “Ltd”</a>, <a" in html and "Prospect 1" not in html
    assert "Deals you helped: Account 1 (won), Account 0 (Negotiation)" in html
    assert TRICKY_MEMO.replace('"', "&#34;") in html
    assert 'aria-label="Notifications: 2 unread"' in html
