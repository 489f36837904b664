"""Points expiry with grandfathering (product.md §14): FIFO lots, one `expire` entry per earning
entry, lifetime points untouched, balance never negative, notices 30 and 7 days ahead."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from hub.db import utcnow
from hub.extensions import db
from hub.models import Advocate, Notification
from hub.settings import save_setting
from rewards import expiry, ledger
from rewards.expiry import Entry, remaining_lots
from rewards.models import EntryKind, ExpiryNotice, LedgerEntry

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def day(n: int) -> dt.datetime:
    return T0 + dt.timedelta(days=n)


def e(i: int, delta: int, kind: str, at: int, source_type: str = "test", source_id: str = "") -> Entry:
    return Entry(i, delta, kind, source_type, source_id or str(i), day(at))


# --- the pure FIFO -----------------------------------------------------------------------------


def test_spending_uses_the_oldest_points_first():
    lots = remaining_lots([e(1, 100, "earn", 0), e(2, 50, "bonus", 1), e(3, -120, "redeem", 2), e(4, 70, "adjust", 3)])
    assert [(lot.entry_id, lot.remaining) for lot in lots] == [(1, 0), (2, 30), (4, 70)]


def test_refund_gives_back_what_was_spent_last_and_expiry_takes_its_own_lot():
    entries = [
        e(1, 100, "earn", 0),
        e(2, 100, "earn", 1),
        e(3, -150, "redeem", 2),
        e(4, 50, "refund", 3),
    ]
    # The redemption took lot 1 and 50 of lot 2; the refund gives lot 2 its 50 back.
    assert [(lot.entry_id, lot.remaining) for lot in remaining_lots(entries)] == [(1, 0), (2, 100)]
    entries.append(e(5, -100, "expire", 4, "ledger_entry", "2"))
    lots = remaining_lots(entries)
    assert [(lot.entry_id, lot.remaining, lot.expired) for lot in lots] == [(1, 0, False), (2, 0, True)]
    assert sum(x.delta for x in entries) == 0


def test_remaining_sums_to_the_balance():
    entries = [e(1, 40, "earn", 0), e(2, -10, "adjust", 1), e(3, 25, "bonus", 2), e(4, -30, "redeem", 3)]
    assert sum(lot.remaining for lot in remaining_lots(entries)) == sum(x.delta for x in entries) == 25


# --- the job -----------------------------------------------------------------------------------


def switch_on(days: int, since: dt.datetime) -> None:
    save_setting("points_expiry_days", days, None)
    save_setting("points_expiry_since", since.isoformat(), None)
    db.session.commit()


def post(advocate_id: int, delta: int, kind: str, key: str, at: dt.datetime) -> None:
    ledger.post_entry(advocate_id, delta, kind=kind, source_type="test", source_id=key, memo="x", at=at)
    db.session.commit()


def expire_entries(advocate_id: int) -> list[tuple[str, int]]:
    rows = db.session.execute(
        select(LedgerEntry.source_id, LedgerEntry.delta)
        .where(LedgerEntry.advocate_id == advocate_id, LedgerEntry.kind == EntryKind.EXPIRE)
        .order_by(LedgerEntry.id)
    ).all()
    return [(source_id, delta) for source_id, delta in rows]


def test_expiry_grandfathers_spends_fifo_and_runs_once(ctx, make):
    advocate = make.advocate()
    post(advocate.id, 500, "earn", "old", day(0))  # before the policy: never expires
    switch_on(90, day(10))
    post(advocate.id, 200, "earn", "a", day(20))
    post(advocate.id, 120, "bonus", "b", day(30))
    post(advocate.id, -600, "redeem", "r", day(40))  # uses old (500), then 100 of a
    lots = {lot.entry_id: lot.remaining for lot in remaining_lots(expiry._entries_of(advocate.id))}
    assert sorted(lots.values()) == [0, 100, 120]

    assert expiry.expire_points(now=day(100)).entries_points == 0  # nothing due yet
    run = expiry.expire_points(now=day(115))  # a (day 20 + 90) is due, b is not
    db.session.commit()
    assert run.entries_points == 100
    a_id = db.session.scalar(select(LedgerEntry.id).where(LedgerEntry.source_id == "a"))
    assert expire_entries(advocate.id) == [(str(a_id), -100)]
    assert expiry.expire_points(now=day(115)).entries_points == 0  # a second run writes nothing
    run = expiry.expire_points(now=day(200))
    db.session.commit()
    assert run.entries_points == 120
    fresh = db.session.get(Advocate, advocate.id)
    assert (fresh.balance, fresh.lifetime_points) == (0, 820)  # lifetime untouched
    assert len(expire_entries(advocate.id)) == 2


def test_switched_off_nothing_expires_and_on_again_grandfathers(ctx, make):
    advocate = make.advocate()
    switch_on(30, day(0))
    post(advocate.id, 100, "earn", "a", day(1))
    save_setting("points_expiry_days", None, None)
    save_setting("points_expiry_since", None, None)
    db.session.commit()
    assert expiry.expire_points(now=day(100)).entries_points == 0
    switch_on(30, day(101))  # a was earned before this start: grandfathered now
    assert expiry.expire_points(now=day(200)).entries_points == 0
    assert expire_entries(advocate.id) == []


def test_notices_30_and_7_days_ahead_once_and_expiring_in_the_api(api, make):
    owner = api(make.user("owner"))
    advocate = make.advocate()
    now = utcnow()
    switch_on(60, now - dt.timedelta(days=40))
    post(advocate.id, 120, "earn", "a", now - dt.timedelta(days=35))  # expires in 25 days
    expiry.expire_points(now=now)
    expiry.expire_points(now=now)
    db.session.commit()
    notices = list(db.session.scalars(select(ExpiryNotice.days_ahead).where(ExpiryNotice.advocate_id == advocate.id)))
    assert notices == [30]
    texts = list(db.session.scalars(select(Notification.text).where(Notification.kind == "points_expiry")))
    when = now + dt.timedelta(days=25)
    assert texts == [f"120 points expire on {when:%-d %b}: spend them first."]
    expiry.expire_points(now=now + dt.timedelta(days=20))  # 5 days ahead: the 7-day notice
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(ExpiryNotice)) == 2
    body = owner.get(f"/advocates/{advocate.id}").json
    assert [item["points"] for item in body["expiring"]] == [120]
    assert body["expiring"][0]["expires_at"].startswith(when.date().isoformat())
    assert owner.get("/reports/program").json["points"]["expiring_30d"] == 120


def test_notices_of_a_run_are_one_insert_and_one_email_job(ctx, make, jobs, monkeypatch):
    """Three advocates due a notice: three notices and in-app notifications, one email job for
    the batch (not one per advocate); the advocate who switched expiry emails off gets the in-app
    one only; the job run again sends no second email."""
    from hub.email.mailings import email_notifications
    from hub.email.models import OutboxEmail
    from hub.email.preferences import EMAIL_KINDS, set_enabled_kinds

    advocates = [make.advocate() for _ in range(3)]
    now = utcnow()
    switch_on(60, now - dt.timedelta(days=40))
    for n, advocate in enumerate(advocates):
        post(advocate.id, 100 + n, "earn", f"a{n}", now - dt.timedelta(days=35 + n))  # 25, 24, 23 days left
    set_enabled_kinds(advocates[2].id, set(EMAIL_KINDS) - {"expiry"})
    db.session.commit()
    enqueued = []
    original = expiry.notify_many.__globals__["enqueue_merged_after_commit"]

    def counting(func, *args, **kwargs):
        enqueued.append(func.__name__)
        return original(func, *args, **kwargs)

    monkeypatch.setitem(expiry.notify_many.__globals__, "enqueue_merged_after_commit", counting)
    assert expiry.expire_points(now=now, commit_each=True).notices == 3
    jobs.join()
    assert enqueued == ["send_notification_emails"]
    notes = db.session.execute(
        select(Notification.id, Notification.user_id, Notification.text)
        .where(Notification.kind == "points_expiry")
        .order_by(Notification.user_id)
    ).all()
    expected_texts = [
        f"{100 + n} points expire on {now + dt.timedelta(days=25 - n):%-d %b}: spend them first." for n in range(3)
    ]
    assert [(user_id, text) for _, user_id, text in notes] == [
        (a.user_id, text) for a, text in zip(advocates, expected_texts, strict=True)
    ]
    emailed = lambda: sorted(  # noqa: E731
        db.session.execute(select(OutboxEmail.user_id, OutboxEmail.subject).where(OutboxEmail.kind == "expiry")).all()
    )
    assert emailed() == [(advocates[0].user_id, expected_texts[0]), (advocates[1].user_id, expected_texts[1])]
    assert email_notifications([note.id for note in notes]) == 0  # a retried job: no duplicates
    db.session.commit()
    assert len(emailed()) == 2
    assert expiry.expire_points(now=now, commit_each=True).notices == 0
    assert enqueued == ["send_notification_emails"]


def test_hub_shows_what_expires_when(client, login, make):
    advocate = make.advocate()
    now = utcnow()
    switch_on(365, now - dt.timedelta(days=1))
    post(advocate.id, 120, "earn", "a", now)
    login(client, advocate.user)
    page = client.get("/").get_data(as_text=True)
    when = now + dt.timedelta(days=365)
    assert f"120 points expire on {when:%-d %b}" in page


# --- settlement marks: runs read only the lots after them ----------------------------------------


def mark_of(advocate_id: int) -> tuple[dt.datetime | None, int | None]:
    row = db.session.execute(
        select(Advocate.expiry_settled_at, Advocate.expiry_settled_id).where(Advocate.id == advocate_id)
    ).one()
    return row.expiry_settled_at, row.expiry_settled_id


def entry_id(key: str) -> int:
    return db.session.scalar(select(LedgerEntry.id).where(LedgerEntry.source_id == key))


def test_a_refund_after_settlement_puts_the_lot_back_in_play(ctx, make):
    advocate = make.advocate()
    switch_on(90, day(0))
    post(advocate.id, 100, "earn", "a", day(10))
    post(advocate.id, -100, "redeem", "r", day(20))
    assert expiry.expire_points(now=day(30)).entries_points == 0
    db.session.commit()
    assert mark_of(advocate.id) == (day(10), entry_id("a"))  # spent: settled, not read again
    post(advocate.id, 60, "refund", "r", day(40))  # gives lot a 60 points back
    assert mark_of(advocate.id) == (None, None)
    assert expiry.expire_points(now=day(99)).entries_points == 0  # not due yet
    run = expiry.expire_points(now=day(101))
    db.session.commit()
    assert run.entries_points == 60
    assert expire_entries(advocate.id) == [(str(entry_id("a")), -60)]
    assert expiry.expire_points(now=day(101)).entries_points == 0
    assert db.session.get(Advocate, advocate.id).balance == 0


def test_a_lot_expired_then_refilled_never_expires_again(ctx, make):
    advocate = make.advocate()
    switch_on(30, day(0))
    post(advocate.id, 100, "earn", "a", day(1))
    post(advocate.id, -40, "redeem", "r", day(2))
    assert expiry.expire_points(now=day(40)).entries_points == 60
    db.session.commit()
    assert mark_of(advocate.id) == (day(1), entry_id("a"))
    post(advocate.id, 40, "refund", "r", day(41))  # back into lot a, which has its expire entry
    assert mark_of(advocate.id) == (None, None)
    # Every lot here is overdue by the real clock, so the 30-day total counts what is unexpired:
    # nothing (per-lot path: no mark, and an expire entry).
    assert expiry.expiring_total(30) == 0
    assert expiry.expire_points(now=day(100)).entries_points == 0
    db.session.commit()
    assert mark_of(advocate.id) == (day(1), entry_id("a"))
    post(advocate.id, 50, "earn", "b", day(101))
    assert expiry.expiring_total(30) == 50  # per-advocate path: lot b only, not a's 40
    assert expiry.expire_points(now=day(140)).entries_points == 50
    db.session.commit()
    fresh = db.session.get(Advocate, advocate.id)
    assert (fresh.balance, fresh.lifetime_points) == (40, 150)
    assert len(expire_entries(advocate.id)) == 2


def test_an_expired_lot_after_an_unsettled_one_clears_the_mark(ctx, make):
    """Lot x spent, lot y partly expired, a refund refills y then x, and a longer N makes x not
    due: the first unsettled lot (x) has an expired one after it, so no mark is kept and the
    totals still leave y's refilled points out."""
    advocate = make.advocate()
    switch_on(10, day(0))
    post(advocate.id, 100, "earn", "x", day(1))
    post(advocate.id, 100, "earn", "y", day(2))
    post(advocate.id, -150, "redeem", "r", day(3))  # x empty, 50 of y left
    assert expiry.expire_points(now=day(20)).entries_points == 50
    db.session.commit()
    assert mark_of(advocate.id) == (day(2), entry_id("y"))
    post(advocate.id, 150, "refund", "r", day(21))  # y's 50 back, then x's 100
    save_setting("points_expiry_days", 60, None)  # the same start, a longer N
    db.session.commit()
    assert expiry.expire_points(now=day(25)).entries_points == 0
    db.session.commit()
    assert mark_of(advocate.id) == (None, None)
    assert expiry.expiring_total(30) == 100  # x is overdue by the real clock; y never expires again
    assert expiry.expire_points(now=day(62)).entries_points == 100
    db.session.commit()
    assert mark_of(advocate.id) == (day(2), entry_id("y"))
    assert db.session.get(Advocate, advocate.id).balance == 50


# --- watch times: a run visits only advocates with something due or to notice --------------------


def visited_by(monkeypatch, now: dt.datetime) -> list[int]:
    """The advocates a run at `now` reads (expire_batch's arguments), the run done."""
    seen: list[int] = []
    real = expiry.expire_batch

    def spying(advocate_ids, policy, at):
        seen.extend(advocate_ids)
        return real(advocate_ids, policy, at)

    monkeypatch.setattr(expiry, "expire_batch", spying)
    expiry.expire_points(now=now)
    db.session.commit()
    monkeypatch.setattr(expiry, "expire_batch", real)
    return seen


def notices_of(advocate_id: int) -> list[tuple[dt.date, int]]:
    return sorted(
        db.session.execute(
            select(ExpiryNotice.expires_on, ExpiryNotice.days_ahead).where(ExpiryNotice.advocate_id == advocate_id)
        ).all()
    )


def test_runs_visit_an_advocate_only_when_a_lot_nears_a_notice_or_comes_due(ctx, make, monkeypatch):
    advocate = make.advocate()
    switch_on(60, day(0))
    post(advocate.id, 100, "earn", "a", day(1))  # expires day 61: notices on day 31 and day 54
    assert visited_by(monkeypatch, day(2)) == [advocate.id]  # never visited yet
    assert visited_by(monkeypatch, day(3)) == []  # a second run reads nothing of theirs
    assert visited_by(monkeypatch, day(30)) == []
    assert visited_by(monkeypatch, day(31)) == [advocate.id]
    assert notices_of(advocate.id) == [(day(61).date(), 30)]
    assert visited_by(monkeypatch, day(40)) == []
    assert visited_by(monkeypatch, day(54)) == [advocate.id]
    assert notices_of(advocate.id) == [(day(61).date(), 7), (day(61).date(), 30)]
    assert visited_by(monkeypatch, day(60)) == []
    assert visited_by(monkeypatch, day(61)) == [advocate.id]
    assert expire_entries(advocate.id) == [(str(entry_id("a")), -100)]


def test_a_credit_dated_in_the_past_is_watched_from_its_own_notice(ctx, make, monkeypatch):
    advocate = make.advocate()
    switch_on(60, day(0))
    post(advocate.id, 100, "earn", "a", day(40))
    assert visited_by(monkeypatch, day(41)) == [advocate.id]  # watched again from day 70
    post(advocate.id, 50, "earn", "b", day(1))  # dated earlier: expires day 61
    run = expiry.expire_points(now=day(62))
    db.session.commit()
    assert run.entries_points == 50
    assert expire_entries(advocate.id) == [(str(entry_id("b")), -50)]


def test_a_longer_n_is_noticed_on_its_new_dates(ctx, make):
    """The run after N grows from 10 to 100 days must not wait for the old dates: a change of N
    (through the settings, as the owner makes it) clears the watch times."""
    from rewards.program_settings import apply_settings

    owner = make.user("owner")
    advocate = make.advocate()
    switch_on(10, day(0))
    post(advocate.id, 100, "earn", "a", day(1))  # expires day 11
    expiry.expire_points(now=day(2))  # the 30-day notice; watched again from day 4 (7 days ahead)
    db.session.commit()
    apply_settings({"points_expiry_days": 100}, owner.id)  # now expires day 101
    db.session.commit()
    assert expiry.expire_points(now=day(75)).notices == 1
    db.session.commit()
    assert (day(101).date(), 30) in notices_of(advocate.id)


@pytest.mark.services
def test_notices_on_postgresql_are_written_once_with_their_texts(pg_ctx, make, jobs):
    """PostgreSQL writes the notices and notifications with one array per column
    (hub.db.insert_unnest): the rows, their texts and the email job as on SQLite, once."""
    advocates = [make.advocate() for _ in range(2)]
    now = utcnow()
    switch_on(60, now - dt.timedelta(days=40))
    for n, advocate in enumerate(advocates):
        post(advocate.id, 100 + n, "earn", f"pg-{advocate.id}", now - dt.timedelta(days=35 + n))
    expiry.expire_points(now=now, commit_each=True)
    jobs.join()
    ids = [a.id for a in advocates]
    notices = db.session.execute(
        select(ExpiryNotice.advocate_id, ExpiryNotice.expires_on, ExpiryNotice.days_ahead, ExpiryNotice.points)
        .where(ExpiryNotice.advocate_id.in_(ids))
        .order_by(ExpiryNotice.advocate_id)
    ).all()
    assert [tuple(n) for n in notices] == [
        (a.id, (now + dt.timedelta(days=25 - n)).date(), 30, 100 + n) for n, a in enumerate(advocates)
    ]
    texts = db.session.execute(
        select(Notification.user_id, Notification.text)
        .where(Notification.kind == "points_expiry", Notification.user_id.in_([a.user_id for a in advocates]))
        .order_by(Notification.user_id)
    ).all()
    assert [tuple(t) for t in texts] == [
        (a.user_id, f"{100 + n} points expire on {now + dt.timedelta(days=25 - n):%-d %b}: spend them first.")
        for n, a in enumerate(advocates)
    ]
    expiry.expire_points(now=now, commit_each=True)
    assert (
        db.session.scalar(select(func.count()).select_from(ExpiryNotice).where(ExpiryNotice.advocate_id.in_(ids))) == 2
    )
