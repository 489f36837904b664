"""Issue 22, feed: the API feed reads the cache stamps in its own statement.

`challenges.services.feed.read_state` sends the advocate's rows and every cache stamp as one
statement when the request has not read the stamps yet and the process holds a compiled
catalogue; it hands the stamps to the request (hub.stamps.prime) and keeps the rows only if
the catalogue's stamp is the token that catalogue was compiled under — else it compiles the
catalogue afresh and reads the rows again. Checked here:

- a warm API feed request sends one statement, which reads the stamps (no stamps query of its
  own), and the settings read later in the request use the stamps it read;
- a rename, a close, a publish and the re-publishing of a challenge the advocate had done
  (whose completion the ids compiled before would leave out) committed between two requests
  show at the next one (the stale catalogue is refused, the statement re-run), on SQLite and
  from a second process on PostgreSQL, whose catalogue was compiled before the change;
- the one statement with the stamps reads the same rows as the one without.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from challenges import catalogue, services
from challenges.models import Challenge, Completion, CompletionStatus
from challenges.services import feed
from hub import stamps
from hub.db import utcnow
from hub.extensions import db
from hub.models import CacheStamp
from tests.support.challenges import create_challenge
from tests.support.feed_process import feed_in_another_process


def titles(reply: Any) -> list[str]:
    """The titles of an API feed reply's items, in order."""
    assert reply.status_code == 200, reply.get_data(as_text=True)
    return [i["title"] for i in reply.get_json()["items"]]


def statuses(reply: Any) -> dict[str, list[Any]]:
    """Per title of an API feed reply: [available, my_status]."""
    assert reply.status_code == 200, reply.get_data(as_text=True)
    return {i["title"]: [i["available"], i["my_status"]] for i in reply.get_json()["items"]}


def reopened_later(staff_id: int, advocate_id: int) -> int:
    """A challenge done once (approved; one per advocate) and then closed: committed."""
    challenge = create_challenge(staff_id, title="Done before", max_per_advocate=1)
    db.session.add(
        Completion(
            advocate_id=advocate_id,
            challenge_id=challenge.id,
            status=CompletionStatus.APPROVED,
            points_offered=100,
            points_awarded=100,
            submitted_at=utcnow() - dt.timedelta(days=3),
            decided_at=utcnow() - dt.timedelta(days=2),
        )
    )
    services.close_challenge(challenge.id, staff_id)
    db.session.commit()
    return challenge.id


def test_a_warm_api_feed_is_one_statement_that_reads_the_stamps(client, make, sql_statements):
    advocate = make.advocate()
    headers = {"Authorization": f"Bearer {make.token(advocate.user)}"}
    create_challenge(None, title="Only one")
    db.session.commit()
    assert titles(client.get("/api/v1/challenges", headers=headers)) == ["Only one"]  # compiles
    sql_statements.clear()
    assert titles(client.get("/api/v1/challenges", headers=headers)) == ["Only one"]
    feed_reads = [s for s in sql_statements if "FROM completions" in s]
    assert len(feed_reads) == 1 and "cache_stamps" in feed_reads[0]
    assert not [s for s in sql_statements if "cache_stamps" in s and "FROM completions" not in s]


def test_the_stamps_read_with_the_feed_serve_the_rest_of_the_request(ctx, make, sql_statements):
    advocate_id = make.advocate().id
    create_challenge(None, title="Stamped")
    db.session.commit()
    with ctx.test_request_context():
        catalogue.current()  # a compiled catalogue, as a warm process holds
    expected = dict(db.session.execute(select(CacheStamp.name, CacheStamp.token)).all())
    assert catalogue.STAMP in expected
    with ctx.test_request_context():
        sql_statements.clear()
        services.feed_of(advocate_id)
        assert len(sql_statements) == 1
        assert {name: stamps.current(name) for name in expected} == expected
        assert len(sql_statements) == 1  # no stamps query of their own


def test_a_change_committed_between_requests_shows_at_the_next(client, make, sql_statements):
    staff = make.user("manager")
    advocate = make.advocate()
    headers = {"Authorization": f"Bearer {make.token(advocate.user)}"}
    kept = create_challenge(staff.id, title="Kept")
    closing = create_challenge(staff.id, title="Closing")
    done_before = reopened_later(staff.id, advocate.id)
    assert sorted(titles(client.get("/api/v1/challenges", headers=headers))) == ["Closing", "Kept"]
    services.publish_challenge(done_before, staff.id)  # its completion is not in the ids compiled before
    db.session.commit()
    said = statuses(client.get("/api/v1/challenges", headers=headers))
    assert said == {"Closing": [True, None], "Kept": [True, None], "Done before": [False, "approved"]}
    services.update_challenge(kept.id, services.input_from(kept, title="Renamed"), staff.id)
    db.session.commit()
    sql_statements.clear()
    assert sorted(titles(client.get("/api/v1/challenges", headers=headers))) == ["Closing", "Done before", "Renamed"]
    # the stale catalogue refused: the statement with the stamps, the compile, the statement again
    assert len([s for s in sql_statements if "FROM completions" in s]) == 2
    services.close_challenge(closing.id, staff.id)
    create_challenge(staff.id, title="Published later")
    db.session.commit()
    assert sorted(titles(client.get("/api/v1/challenges", headers=headers))) == [
        "Done before",
        "Published later",
        "Renamed",
    ]


def _rows_both_ways(advocate_id: int) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
    at = utcnow()
    published = catalogue.current()
    without = feed._read(advocate_id, at, published, with_stamps=False)
    with_stamps = feed._read(advocate_id, at, published, with_stamps=True)
    return without, with_stamps


def check_the_stamps_add_rows_and_change_none(make) -> None:
    advocate = make.advocate(groups=("Stamps A",))
    challenge = create_challenge(None, title="Done once", max_total=5)
    services.submit_completion(challenge.id, advocate.id, {"evidence_text": "Done"})
    db.session.commit()
    without, with_stamps = _rows_both_ways(advocate.id)
    read_stamps = with_stamps.pop(feed.STAMPS)
    assert without.pop(feed.STAMPS) == []
    assert with_stamps == without and without[feed.RECORD] and without[feed.GROUP]
    expected = dict(db.session.execute(select(CacheStamp.name, CacheStamp.token)).all())
    assert {row[10]: row[2] for row in read_stamps} == expected and expected


def test_the_stamps_add_rows_and_change_none_sqlite(ctx, make):
    check_the_stamps_add_rows_and_change_none(make)


def test_the_stamps_add_rows_and_change_none_postgresql(pg_ctx, make):
    check_the_stamps_add_rows_and_change_none(make)


@pytest.mark.multi_connection
def test_another_process_sees_a_catalogue_change_at_its_next_request(pg_app, pg_url, redis_url, make):
    with pg_app.app_context():
        staff = make.user("manager")
        advocate = make.advocate()
        token = make.token(advocate.user)
        kept = create_challenge(staff.id, title="Kept")
        closing = create_challenge(staff.id, title="Closing")
        kept_id, closing_id, staff_id = kept.id, closing.id, staff.id
        done_before = reopened_later(staff.id, advocate.id)
    with feed_in_another_process(pg_url, redis_url, token, ("available", "my_status")) as seen:
        assert seen() == seen() == {"Closing": [True, None], "Kept": [True, None]}  # the second: kept
        with pg_app.app_context():
            services.publish_challenge(done_before, staff_id)  # not in the ids compiled before
            db.session.commit()
        assert seen()["Done before"] == [False, "approved"]
        with pg_app.app_context():
            challenge = db.session.get_one(Challenge, kept_id)
            services.update_challenge(kept_id, services.input_from(challenge, title="Renamed"), staff_id)
            db.session.commit()
        assert sorted(seen()) == ["Closing", "Done before", "Renamed"]
        with pg_app.app_context():
            services.close_challenge(closing_id, staff_id)
            create_challenge(staff_id, title="Published later")
            db.session.commit()
        assert sorted(seen()) == ["Done before", "Published later", "Renamed"]
