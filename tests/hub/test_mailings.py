"""Periodic mail: weekly digest, re-engagement after 180 days, thank-yous at 5/25/100; the CLI and rq cron."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from hub.db import utcnow
from hub.email.mailings import compose_digest, compose_reengagement, send_digests, thank_for_completions, week_key
from hub.email.models import OutboxEmail
from hub.email.preferences import set_enabled_kinds
from hub.extensions import db
from hub.hooks import hooks
from hub.models import Advocate
from hub.signals import completion_approved


def _emails(kind: str | None = None) -> list[OutboxEmail]:
    db.session.commit()
    query = select(OutboxEmail).order_by(OutboxEmail.id)
    return list(db.session.scalars(query.where(OutboxEmail.kind == kind) if kind else query))


@pytest.fixture()
def digest_source(monkeypatch, app):
    """A stand-in for the challenges feed: the advocate ids it was asked about, and what it offers."""
    asked: list[tuple[int, dt.datetime, int]] = []
    offer: dict[int, list[dict]] = {}

    def source(advocate_id: int, since: dt.datetime, limit: int) -> list[dict]:
        asked.append((advocate_id, since, limit))
        return [dict(item) for item in offer.get(advocate_id, [])][:limit]

    monkeypatch.setattr(hooks(app), "digest_sources", [source])
    return asked, offer


def test_digest_lists_at_most_six_and_is_sent_once_a_week(make, ctx, digest_source):
    asked, offer = digest_source
    advocate = make.advocate(name="Ada")
    offer[advocate.id] = [
        {"title": f"Challenge {i}", "points": 100 + i, "effort": "low", "url": f"/challenges/{i}"} for i in range(9)
    ]
    now = utcnow()
    week = week_key(now)
    message = compose_digest(advocate.id, week, now)
    assert compose_digest(advocate.id, week, now) is None  # same week: nothing new
    assert asked[0][0] == advocate.id and asked[0][2] == 6 and asked[0][1] == now - dt.timedelta(days=7)
    assert message.subject == "6 new challenges for you this week"
    assert "Challenge 5" in message.body_text and "Challenge 6" not in message.body_text
    assert "http://vouch.test/challenges/0" in message.body_html
    assert len(_emails("digest")) == 1


def test_no_digest_without_new_challenges_or_when_switched_off(make, ctx, digest_source):
    _, offer = digest_source
    quiet, opted_out = make.advocate(), make.advocate()
    offer[opted_out.id] = [{"title": "New", "points": 10, "url": "/challenges/1"}]
    set_enabled_kinds(opted_out.id, set())
    assert compose_digest(quiet.id, "2026-W01") is None
    assert compose_digest(opted_out.id, "2026-W01") is None
    assert _emails() == []


def test_send_digests_enqueues_one_job_per_advocate(app, make, ctx, jobs, digest_source):
    _, offer = digest_source
    a, b = make.advocate(), make.advocate()
    offer[a.id] = [{"title": "Write a review", "points": 150, "url": "/challenges/3"}]
    assert send_digests() == 2
    db.session.commit()
    jobs.join()
    assert send_digests() == 2  # a second run the same week …
    db.session.commit()
    jobs.join()
    assert [m.user_id for m in _emails("digest")] == [a.user_id]  # … still one email, to the one with news
    assert b.id


def test_reengagement_after_180_quiet_days_once(make, ctx):
    now = utcnow()
    quiet, recent, fresh_joiner = make.advocate(), make.advocate(), make.advocate()
    quiet.last_activity_at = now - dt.timedelta(days=181)
    recent.last_activity_at = now - dt.timedelta(days=20)
    fresh_joiner.joined_at = now - dt.timedelta(days=10)
    db.session.commit()
    from hub.email.mailings import reengage

    ids = {quiet.id, recent.id, fresh_joiner.id}
    assert reengage(now) == 1
    assert compose_reengagement(quiet.id, now) is not None
    assert compose_reengagement(quiet.id, now) is None  # once per quiet spell
    assert all(compose_reengagement(i, now) is None for i in ids - {quiet.id})
    [message] = _emails("reengagement")
    assert message.subject.startswith("We miss you") and message.user_id == quiet.user_id


def test_thank_you_at_milestones_once(make, ctx):
    advocate = make.advocate()
    assert thank_for_completions(advocate.id, 4) is None
    completion_approved.send("challenges", advocate_id=advocate.id, completion_id=1, approved_count=5)
    completion_approved.send("challenges", advocate_id=advocate.id, completion_id=2, approved_count=5)
    completion_approved.send("challenges", advocate_id=advocate.id, completion_id=3, approved_count=6)
    thank_for_completions(advocate.id, 25)
    thank_for_completions(advocate.id, 100)
    subjects = [m.subject for m in _emails("milestones")]
    assert subjects == [
        "Thank you for 5 approved completions!",
        "Thank you for 25 approved completions!",
        "Thank you for 100 approved completions!",
    ]


def test_cli_commands_enqueue(app, make, ctx, jobs, digest_source):
    _, offer = digest_source
    advocate = make.advocate()
    offer[advocate.id] = [{"title": "Join the webinar", "points": 50, "url": "/challenges/9"}]
    db.session.execute(db.update(Advocate).values(last_activity_at=utcnow() - dt.timedelta(days=200)))
    db.session.commit()
    runner = app.test_cli_runner()
    assert "Enqueued digests for 1 advocates." in runner.invoke(args=["hub", "send-digests"]).output
    assert "Enqueued re-engagement notes for 1 advocates." in runner.invoke(args=["hub", "reengage"]).output
    jobs.join()
    db.session.commit()
    assert sorted(m.kind for m in _emails()) == ["digest", "reengagement"]
    stuck = _emails()[0]
    stuck.status, stuck.sent_at = "queued", None
    db.session.commit()
    assert "Enqueued 1 queued emails." in runner.invoke(args=["hub", "drain-outbox"]).output
    jobs.join()
    assert _emails()[0].status == "sent"


def test_rq_cron_config_registers_every_periodic_job(app, monkeypatch):
    import fakeredis
    from rq import Queue
    from rq.cron import CronScheduler

    import hub.queue

    # hub.cron reads the registry of the worker's app; hand it this test's app rather than
    # letting it build one from the environment (which would reconfigure shared extensions).
    monkeypatch.setattr(hub.queue, "_worker_app", app)
    connection = fakeredis.FakeRedis()
    scheduler = CronScheduler(connection=connection)
    scheduler.load_config_from_file("hub.cron")
    jobs = {job.func_name: job for job in scheduler.get_jobs()}
    assert set(jobs) == {
        "hub.email.mailings.drain_outbox_job",
        "hub.email.mailings.reengage_job",
        "hub.email.mailings.send_digests_job",
        "hub.import_runs.sweep_stale_imports_job",
        "rewards.jobs.recompute_tiers_job",
        "rewards.jobs.rebuild_leaderboards_job",
        "rewards.jobs.reconcile_leaderboards_job",
        "rewards.jobs.expire_points_job",
        "challenges.jobs.requeue_stuck_job",
        "challenges.accounts.summaries.refresh_summaries_job",
    }
    assert jobs["hub.email.mailings.drain_outbox_job"].interval == 60
    assert jobs["hub.email.mailings.reengage_job"].cron == "30 9 * * *"
    assert jobs["hub.email.mailings.send_digests_job"].cron == "0 8 * * 1"
    assert jobs["rewards.jobs.recompute_tiers_job"].cron == "15 3 * * *"
    assert jobs["rewards.jobs.expire_points_job"].cron == "45 2 * * *"
    assert jobs["rewards.jobs.rebuild_leaderboards_job"].cron == "30 3 * * *"
    assert jobs["challenges.accounts.summaries.refresh_summaries_job"].cron == "40 2 * * *"
    assert jobs["challenges.jobs.requeue_stuck_job"].interval == 600
    assert jobs["hub.import_runs.sweep_stale_imports_job"].interval == 300

    assert jobs["rewards.jobs.reconcile_leaderboards_job"].interval == 300
    assert {job.queue_name for job in jobs.values()} == {"vouch-default"}
    assert all(job.job_options["job_timeout"] > 0 for job in jobs.values())
    scheduler.enqueue_jobs()  # the interval jobs are due at once; the cron ones wait for their time
    queued = Queue("vouch-default", connection=connection).jobs
    assert sorted(job.func_name for job in queued) == [
        "challenges.jobs.requeue_stuck_job",
        "hub.email.mailings.drain_outbox_job",
        "hub.import_runs.sweep_stale_imports_job",
        "rewards.jobs.reconcile_leaderboards_job",
    ]


def test_readme_crontab_is_the_one_the_code_schedules(app):
    """The README's crontab block is `flask hub crontab`'s output, so the two cannot drift."""
    import re
    from pathlib import Path

    printed = app.test_cli_runner().invoke(args=["hub", "crontab"]).output
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    block = re.search(r"```cron\n(.*?)```", readme, re.S)
    assert block is not None
    assert block.group(1) == printed
    assert printed.count("flask --app wsgi") == 10


def test_periodic_jobs_run_their_sweeps(ctx, make):
    """The cron-scheduled job functions run the same work as their CLI commands."""
    from challenges.jobs import requeue_stuck_job
    from rewards.jobs import rebuild_leaderboards_job, recompute_tiers_job

    make.advocate(points=120)
    make.advocate()
    assert recompute_tiers_job() == 0
    assert rebuild_leaderboards_job() == {"all": 1, "month": 1, "quarter": 1}
    assert requeue_stuck_job() == {"requeued": 0, "sent_to_review": 0}
    from hub.import_runs import sweep_stale_imports_job

    assert sweep_stale_imports_job() == 0
