"""The readable audit log (issue 17): who, what, when and a field-by-field before/after diff,
filtered by actor, action and date (a bad filter is a note on the page), paginated, and its CSV."""

from __future__ import annotations

import csv
import io

import pytest

from hub.audit import AuditFilter, audit_page, changes, record_audit
from hub.extensions import db
from hub.models import AuditEntry, Group
from tests.support.report_program import at


def test_changes_compare_nested_fields_by_their_dotted_names():
    before = {"tier_thresholds": {"silver": 1000, "gold": 5000}, "tier_basis": "lifetime", "gone": 1}
    after = {"tier_thresholds": {"silver": 500, "gold": 5000}, "tier_basis": "rolling_365", "new": [1, 2]}
    assert [(c.field, c.before, c.after) for c in changes(before, after)] == [
        ("gone", "1", ""),
        ("new", "", "[1, 2]"),
        ("tier_basis", "lifetime", "rolling_365"),
        ("tier_thresholds.silver", "1000", "500"),
    ]
    assert [(c.field, c.before, c.after) for c in changes(None, {"status": "approved"})] == [("status", "", "approved")]
    assert changes(None, None) == []
    # A field created empty, or null on one side and absent on the other, is no change to show.
    assert changes(None, {"image": None, "stock": None}) == []
    assert [(c.field, c.before, c.after) for c in changes({"note": None, "n": 0}, {"n": None})] == [("n", "0", "")]


def _log(make):
    olive, mo = make.user("owner", name="Olive Owner"), make.user("manager", name="Mo Manager")
    entries = [
        (olive, "settings.update", "2026-03-01 10:00", {"tier_basis": "lifetime"}, {"tier_basis": "rolling_365"}),
        (mo, "group.create", "2026-03-02 10:00", None, {"name": "Beta"}),
        (olive, "group.create", "2026-03-03 10:00", None, {"name": "Gamma"}),
        (None, "points.expire", "2026-03-04 10:00", None, None),
    ]
    ids = []
    for who, action, when, before, after in entries:
        entry = record_audit(who.id if who else None, action, "group", 7, before, after)
        entry.created_at = at(when)
        ids.append(entry.id)
    db.session.commit()
    return olive, mo, ids


def test_filters_by_actor_action_and_dates(ctx, make):
    olive, _mo, ids = _log(make)
    assert [e.id for e in audit_page(AuditFilter(), 50, 0)[0]] == ids[::-1]
    assert [e.id for e in audit_page(AuditFilter(actor_id=olive.id), 50, 0)[0]] == [ids[2], ids[0]]
    assert [e.id for e in audit_page(AuditFilter(action="group.create"), 50, 0)[0]] == [ids[2], ids[1]]
    assert audit_page(AuditFilter(actor_id=olive.id, action="group.create"), 50, 0) == (
        [db.session.get(AuditEntry, ids[2])],
        1,
    )
    by_date = AuditFilter(since=at("2026-03-02 00:00").date(), until=at("2026-03-03 00:00").date())
    assert [e.id for e in audit_page(by_date, 50, 0)[0]] == [ids[2], ids[1]]  # both dates inclusive
    page, total = audit_page(AuditFilter(), 2, 2)
    assert ([e.id for e in page], total) == ([ids[1], ids[0]], 4)


def test_the_page_shows_a_readable_diff_and_filters(client, login, make):
    olive, mo, _ids = _log(make)
    login(client, olive)
    html = client.get("/admin/audit").get_data(as_text=True)
    assert "<del>lifetime</del>" in html and "<ins>rolling_365</ins>" in html and "tier basis" in html
    table = html[html.index('data-testid="audit-table"') :]
    assert "{&#34;" not in table and '{"' not in table  # no raw JSON
    assert "Mo Manager" in html and "System" in html
    filtered = client.get(f"/admin/audit?actor={mo.id}&action=group.create").get_data(as_text=True)
    assert "<ins>Beta</ins>" in filtered and "Gamma" not in filtered and "rolling_365" not in filtered
    assert "1 entry matches the filter" in filtered
    none = client.get("/admin/audit?action=nothing.here").get_data(as_text=True)
    assert 'data-testid="audit-empty"' in none


@pytest.mark.parametrize(
    ("query", "notice"),
    [
        (
            "from=2026-03-03&to=2026-03-02",
            "The dates ended before they began, so entries from Mar 2, 2026 to Mar 3, 2026 are shown.",
        ),
        ("from=2026-02-30", "“from=2026-02-30” was not used: A date like 2026-12-01."),
        ("to=99999-01-01", "“to=99999-01-01” was not used: A date like 2026-12-01."),
        ("actor=abc", "“actor=abc” was not used"),
        ("actor=99999999999", "“actor=99999999999” was not used"),
        ("page=0", "“page=0” was not used"),
        # What was typed is quoted with its control and format characters as escapes: a
        # right-to-left override would reverse the note, U+0001 would be invisible.
        ("from=%E2%80%AE2026-01-01", "“from=\\u202e2026-01-01” was not used"),
        ("actor=%01%7F", "“actor=\\u0001\\u007f” was not used"),
    ],
)
def test_a_bad_filter_is_a_note_on_the_page(client, login, make, query, notice):
    _log(make)
    login(client, make.user("owner"))
    response = client.get(f"/admin/audit?{query}")
    assert response.status_code == 200 and notice in response.get_data(as_text=True)


def test_a_reversed_range_filters_the_right_way_round(client, login, make):
    olive, _, _ids = _log(make)
    login(client, olive)
    html = client.get("/admin/audit?from=2026-03-03&to=2026-03-02").get_data(as_text=True)
    assert "Gamma" in html and "Beta" in html and "rolling_365" not in html


def test_the_csv_has_one_row_per_changed_field_filtered_as_the_page(client, login, make):
    olive, _mo, ids = _log(make)
    record_audit(olive.id, "group.rename", "group", 7, {"name": "Beta"}, {"name": '=HYPERLINK("http://x")'})
    db.session.commit()
    login(client, olive)
    response = client.get(f"/admin/audit.csv?actor={olive.id}&from=2026-03-01&to=2026-03-01")
    assert response.status_code == 200 and response.mimetype == "text/csv" and response.is_streamed
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == [
        "entry_id",
        "at",
        "actor",
        "actor_email",
        "action",
        "target_type",
        "target_id",
        "target_name",
        "field",
        "before",
        "after",
    ]
    assert rows[1:] == [
        [
            str(ids[0]),
            "2026-03-01T10:00:00+00:00",
            "Olive Owner",
            olive.email,
            "settings.update",
            "group",
            "7",
            "",
            "tier_basis",
            "lifetime",
            "rolling_365",
        ]
    ]
    hostile = list(csv.reader(io.StringIO(client.get("/admin/audit.csv?action=group.rename").get_data(as_text=True))))
    assert hostile[1][8:] == ["name", "Beta", '\'=HYPERLINK("http://x")']
    bad = client.get("/admin/audit.csv?from=2026-02-30&to=99999-01-01")
    assert bad.status_code == 200 and len(list(csv.reader(io.StringIO(bad.get_data(as_text=True))))) == 1 + 5


def test_the_api_filters_the_log_and_gives_the_changes(api, make):
    olive, mo, ids = _log(make)
    owner = api(olive)
    body = owner.get(f"/audit?actor={olive.id}&from=2026-03-01&to=2026-03-01").json
    assert body["total"] == 1
    [entry] = body["items"]
    assert (entry["id"], entry["actor"], entry["action"], entry["at"]) == (
        ids[0],
        "Olive Owner",
        "settings.update",
        "2026-03-01T10:00:00Z",
    )
    assert entry["changes"] == [{"field": "tier_basis", "before": "lifetime", "after": "rolling_365"}]
    assert owner.get("/audit?action=group.create").json["total"] == 2
    reversed_ = owner.get("/audit?from=2026-03-03&to=2026-03-02")
    assert reversed_.status_code == 422 and reversed_.json["error"]["fields"] == {"to": ["Must be on or after `from`."]}
    assert api(mo).get("/audit").status_code == 403


def test_targets_are_named_and_an_erased_advocate_stays_anonymous(client, login, make):
    from hub.audit import ERASED, target_names
    from hub.privacy import erase_advocate

    olive = make.user("owner", name="Olive Owner")
    ann, eve = make.advocate(name="Ann Able"), make.advocate(name="Eve Erased")
    group = Group(name="Beta")
    db.session.add(group)
    db.session.flush()
    entries = [
        record_audit(olive.id, "points.adjust", "advocate", ann.id, None, {"points": 5}),
        record_audit(olive.id, "points.adjust", "advocate", eve.id, None, {"points": 5}),
        record_audit(olive.id, "user.role", "user", ann.user_id, None, {"role": "advocate"}),
        record_audit(olive.id, "user.role", "user", eve.user_id, None, {"role": "advocate"}),
        record_audit(olive.id, "points.adjust", "advocate", 999999, None, None),
        record_audit(olive.id, "reward.create", "reward", 3, None, None),
    ]
    entries.append(record_audit(olive.id, "group.create", "group", group.id, None, None))
    db.session.commit()
    assert erase_advocate(eve.id, olive.id, "test")
    db.session.commit()
    names = target_names(entries)
    assert names[("advocate", str(ann.id))] == "Ann Able"
    assert names[("user", str(ann.user_id))] == "Ann Able"
    assert names[("advocate", str(eve.id))] == ERASED and names[("user", str(eve.user_id))] == ERASED
    assert ("advocate", "999999") not in names and ("reward", "3") not in names
    assert names[("group", str(group.id))] == "Beta"
    login(client, olive)
    html = client.get("/admin/audit").get_data(as_text=True)
    assert f">Ann Able</a> · advocate #{ann.id}" in html
    assert f"{ERASED} · advocate #{eve.id}" in html and "Eve Erased" not in html
    rows = list(csv.reader(io.StringIO(client.get("/admin/audit.csv?action=points.adjust").get_data(as_text=True))))
    assert sorted(row[7] for row in rows[1:]) == sorted(["Ann Able", ERASED, ""])
