"""Advocates list filters (persona, last active, burnout) and groups housekeeping: rename,
delete (refused while a challenge targets the group) and "add everyone shown" (issue 20)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from challenges.models import Ask, AskKind
from hub.db import utcnow
from hub.extensions import db
from hub.models import AuditEntry, Group, Persona, advocate_groups

pytestmark = pytest.mark.usefixtures("ctx")


def give_asks(advocate_id: int, n: int, days_ago: int = 10, cancelled: int = 0) -> None:
    """`n` active asks `days_ago` days back, plus `cancelled` released ones (which never count)."""
    at = utcnow() - dt.timedelta(days=days_ago)
    for i in range(n + cancelled):
        db.session.add(
            Ask(
                advocate_id=advocate_id,
                kind=AskKind.MEDIUM,
                source_type="test",
                source_id=f"{advocate_id}-{days_ago}-{i}",
                asked_at=at,
                cancelled_at=at if i >= n else None,
            )
        )
    db.session.commit()


def names(reply) -> set[str]:
    assert reply.status_code == 200, reply.json
    return {item["name"] for item in reply.json["items"]}


@pytest.fixture()
def cast(make):
    """Seven advocates on each side of the burnout edges 4/5, 6/7, 10/11 (asks in 365 days)."""
    people = {n: make.advocate(name=f"Asked {n}") for n in (0, 4, 5, 6, 7, 10, 11)}
    for n, advocate in people.items():
        give_asks(advocate.id, n, cancelled=2)
    old = make.advocate(name="Asked long ago")
    give_asks(old.id, 12, days_ago=366)
    return people


@pytest.mark.parametrize(
    ("bucket", "expected"),
    [
        ("healthy", {"Asked 0", "Asked 4", "Asked long ago"}),
        ("acceptable", {"Asked 5", "Asked 6"}),
        ("at_risk", {"Asked 7", "Asked 10"}),
        ("burning", {"Asked 11"}),
    ],
)
def test_burnout_filter_buckets_at_their_edges(cast, api, make, bucket, expected):
    assert names(api(make.user("manager")).get(f"/advocates?burnout={bucket}&per_page=50")) == expected


def test_last_active_and_persona_filters(make, api):
    now = utcnow()
    recent = make.advocate(name="Recent")
    monthly = make.advocate(name="Monthly")
    dormant = make.advocate(name="Dormant")
    never = make.advocate(name="Never")
    recent.last_activity_at = now - dt.timedelta(days=6, hours=23)
    monthly.last_activity_at = now - dt.timedelta(days=29)
    dormant.last_activity_at = now - dt.timedelta(days=91)
    recent.persona = Persona.PUBLIC_CHAMPION
    db.session.commit()
    as_manager = api(make.user("manager"))
    assert names(as_manager.get("/advocates?last_active=7d")) == {"Recent"}
    assert names(as_manager.get("/advocates?last_active=30d")) == {"Recent", "Monthly"}
    assert names(as_manager.get("/advocates?last_active=over_90d")) == {"Dormant", "Never"}
    assert names(as_manager.get("/advocates?persona=public_champion")) == {"Recent"}
    bad = as_manager.get("/advocates?burnout=tired")
    assert bad.status_code == 422 and "burnout" in bad.json["error"]["fields"]
    assert never.id  # shown under "not in 90 days": never active counts as dormant


def test_the_console_filters_and_adds_everyone_shown_to_a_group(cast, make, client, login):
    target = make.advocate(name="Already there", groups=("Needs care",))
    give_asks(target.id, 8)
    group_id = db.session.scalar(select(Group.id).where(Group.name == "Needs care"))
    login(client, make.user("manager"))
    page = client.get("/admin/advocates?burnout=at_risk").get_data(as_text=True)
    assert "Asked 7" in page and "Asked 10" in page and "Asked 5" not in page
    assert "Add all 3 shown to group" in page
    done = client.post(
        "/admin/groups/assign", data={"burnout": "at_risk", "target": str(group_id)}, follow_redirects=True
    )
    assert "Added 2 advocates to Needs care; 1 were already in it." in done.get_data(as_text=True)
    members = set(
        db.session.scalars(select(advocate_groups.c.advocate_id).where(advocate_groups.c.group_id == group_id))
    )
    assert members == {cast[7].id, cast[10].id, target.id}
    again = client.post(
        "/admin/groups/assign", data={"burnout": "at_risk", "target": str(group_id)}, follow_redirects=True
    )
    assert "Added 0 advocates to Needs care; 3 were already in it." in again.get_data(as_text=True)
    refused = client.post("/admin/groups/assign", data={"burnout": "at_risk", "target": ""}, follow_redirects=True)
    assert "Choose the group to add them to." in refused.get_data(as_text=True)


def test_rename_keeps_names_unique_whatever_the_case(make, api):
    as_manager = api(make.user("manager"))
    emea = as_manager.post("/groups", {"name": "EMEA"}).json
    beta = as_manager.post("/groups", {"name": "Beta testers", "description": "Early access"}).json
    taken = as_manager.patch(f"/groups/{beta['id']}", {"name": "emea"})
    assert taken.status_code == 422 and taken.json["error"]["fields"]["name"] == [
        "A group with this name already exists."
    ]
    renamed = as_manager.patch(f"/groups/{beta['id']}", {"name": "Beta"})
    assert renamed.json == {"id": beta["id"], "name": "Beta", "description": "Early access", "members": 0}
    assert as_manager.patch(f"/groups/{emea['id']}", {"name": "  "}).status_code == 422
    assert as_manager.patch("/groups/999999", {"name": "X"}).status_code == 404
    audit = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "group.update")).all()
    assert [(a.before["name"], a.after["name"]) for a in audit] == [("Beta testers", "Beta")]


def test_delete_is_refused_while_a_challenge_targets_the_group(make, api):
    manager = make.user("manager")
    as_manager = api(manager)
    member = make.advocate(name="Member", groups=("Healthcare CIOs",))
    group_id = db.session.scalar(select(Group.id).where(Group.name == "Healthcare CIOs"))
    challenge = as_manager.post(
        "/challenges",
        {
            "title": "CIO roundtable",
            "type": "webinar",
            "description": "Join us",
            "points": 50,
            "target_groups": ["Healthcare CIOs"],
        },
    ).json
    refused = as_manager.post(f"/groups/{group_id}/delete")
    assert refused.status_code == 409
    assert refused.json["error"]["message"] == (
        "“Healthcare CIOs” is still the audience of challenge “CIO roundtable”; change their audience first."
    )
    assert as_manager.post(f"/challenges/{challenge['id']}/archive").status_code == 200
    deleted = as_manager.post(f"/groups/{group_id}/delete")
    assert deleted.status_code == 200 and deleted.json["name"] == "Healthcare CIOs"
    assert db.session.get(Group, group_id) is None
    reply = as_manager.get(f"/advocates/{member.id}")
    assert reply.status_code == 200  # still an advocate
    assert as_manager.post(f"/groups/{group_id}/delete").status_code == 404


def test_the_group_page_renames_and_deletes(make, client, login):
    make.advocate(groups=("Old name",))
    group_id = db.session.scalar(select(Group.id).where(Group.name == "Old name"))
    login(client, make.user("manager"))
    page = client.get(f"/admin/groups/{group_id}").get_data(as_text=True)
    assert re.search(r'value="Old name"', page) and "Delete group" in page
    bad = client.post(f"/admin/groups/{group_id}", data={"name": "", "description": ""})
    assert bad.status_code == 422
    saved = client.post(
        f"/admin/groups/{group_id}", data={"name": "New name", "description": ""}, follow_redirects=True
    )
    assert "New name" in saved.get_data(as_text=True)
    gone = client.post(f"/admin/groups/{group_id}/delete", follow_redirects=True).get_data(as_text=True)
    assert "Deleted the group “New name”; its members are still advocates." in gone
