"""The report tables of issue 17 on a hand-made program (tests.support.report_program): per
challenge, per group, redemptions, advocates with their asks and burnout — each figure computed
by hand below — and the period switch that every table and CSV honours."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from admin.periods import PeriodQuery, resolve
from challenges import report_tables
from rewards.services import redemption_table
from tests.support.report_program import at, build_program

START, END = at("2026-04-01 00:00"), at("2026-07-01 00:00")
Q2_ARGS = "period=custom&from=2026-04-01&to=2026-06-30"


@pytest.fixture()
def program(ctx, make):
    return build_program(make)


def test_per_challenge_figures_for_the_quarter(program):
    rows = report_tables.challenge_performance(START, END)
    # Review on G2 in Q2: a1, a2, a3, a4 (a5 is July, b2 was March). Approved a1 (2 h), a2 (24 h);
    # rejected a3 → 2 of 3 decided; median of 2 and 24 hours = 13; 100 + 100 points; the asks of
    # a1, a2, a4 (a3's was released).
    review, case = rows
    assert (review.name, review.completions, review.approved, review.rejected) == ("Review on G2", 4, 2, 1)
    assert review.approval_rate == 0.6667
    assert review.median_hours_to_approve == 13.0
    assert (review.points_paid, review.asks_spent) == (200, 3)
    # Case study in Q2: b1 only (approved after 4 h, 250 points, one high ask).
    assert (case.name, case.completions, case.approved, case.rejected) == ("Case study", 1, 1, 0)
    assert (case.approval_rate, case.median_hours_to_approve, case.points_paid, case.asks_spent) == (1.0, 4.0, 250, 1)


def test_per_group_figures_count_a_completion_for_each_group(program):
    rows = {r.name: r for r in report_tables.group_performance(START, END)}
    # EMEA = Ann and Bob: a1, a4 (Ann), a2, b1 (Bob); approved 2 h, 24 h, 4 h → median 4 h (odd);
    # 100 + 100 + 250 points; four asks.
    emea = rows["EMEA"]
    assert (emea.completions, emea.approved, emea.rejected, emea.approval_rate) == (4, 3, 0, 1.0)
    assert (emea.median_hours_to_approve, emea.points_paid, emea.asks_spent) == (4.0, 450, 4)
    # NA = Bob: a2 (24 h), b1 (4 h) → median 14 h (even).
    na = rows["NA"]
    assert (na.completions, na.approved, na.median_hours_to_approve, na.points_paid, na.asks_spent) == (
        2,
        2,
        14.0,
        350,
        2,
    )
    assert set(rows) == {"EMEA", "NA"}  # Cat's completions belong to no group


def test_a_period_with_no_activity_has_empty_tables(program):
    start, end = at("2027-01-01 00:00"), at("2027-04-01 00:00")
    assert report_tables.challenge_performance(start, end) == []
    assert report_tables.group_performance(start, end) == []
    assert redemption_table.redemption_table(start, end) == ([], 0)


def test_a_chart_with_nothing_to_draw_says_so(client, login, make, program):
    login(client, make.user("owner"))
    empty = page_of(client, "/admin/reports?period=custom&from=2024-01-01&to=2024-03-31")
    now = page_of(client, "/admin/reports")
    for key in ("tiers", "acts", "reviews", "points", "burnout", "pipeline"):
        assert f'data-testid="chart-{key}-empty"' in empty, key
    # The program's advocates are counted today (all bronze, all healthy): those charts are drawn.
    assert 'data-testid="chart-tiers-empty"' not in now and 'data-testid="chart-burnout-empty"' not in now


def test_an_undecided_challenge_has_no_approval_rate_or_median(program):
    # Only a4 (pending) was submitted on Jun 30.
    [review] = report_tables.challenge_performance(at("2026-06-30 00:00"), END)
    assert (review.completions, review.approval_rate, review.median_hours_to_approve) == (1, None, None)


def test_redemptions_in_the_period_newest_first(program):
    rows, total = redemption_table.redemption_table(START, END)
    # r3 was requested at 2026-07-01 00:00, the first instant after Q2.
    assert total == 2
    assert [(r.redemption_id, r.advocate, r.points, r.status) for r in rows] == [
        (program["r2"], "Bob Busy", 200, "fulfilled"),
        (program["r1"], "Ann Able", 300, "requested"),
    ]


def test_asks_per_advocate_and_burnout_at_the_period_end(program):
    rows, total = report_tables.advocate_asks(START, END)
    got = {r.name: (r.asks, r.reference_calls, r.medium, r.high, r.asks_last_365, r.burnout) for r in rows}
    # Dan: no ask in Q2; five in the 365 days before Jul 1 (the one at exactly 2025-07-01 is
    # out) → 5 = acceptable. Ann: a1, a4 (medium). Bob: a2 (medium), b1 (high); a5 is at the
    # end instant, outside both. Cat's only ask was released.
    assert got == {
        "Dan Drained": (0, 0, 0, 0, 5, "acceptable"),
        "Ann Able": (2, 0, 2, 0, 2, "healthy"),
        "Bob Busy": (2, 0, 1, 1, 2, "healthy"),
    }
    assert total == 3 and [r.name for r in rows] == ["Dan Drained", "Ann Able", "Bob Busy"]
    assert [r.name for r in report_tables.iter_advocate_asks(START, END)] == ["Dan Drained", "Ann Able", "Bob Busy"]


def test_asks_table_gives_the_tier_at_the_period_end(program):
    """The tier column is the tier at the period's end (the report's rule, as the tier counts):
    the tier left at the first change at or after the end, else the stored tier."""
    from hub.extensions import db
    from hub.models import Advocate
    from rewards.models import Tier, TierChange

    def change(advocate_id, before, after, when):
        db.session.add(TierChange(advocate_id=advocate_id, from_tier=before, to_tier=after, changed_at=at(when)))

    # Ann: silver in May (before the end), gold on the end instant, so silver at the end; Bob:
    # gold since June, none after; Dan: bronze → silver in August, stored silver.
    change(program["ann"], Tier.BRONZE, Tier.SILVER, "2026-05-01 00:00")
    change(program["ann"], Tier.SILVER, Tier.GOLD, "2026-07-01 00:00")
    change(program["bob"], Tier.BRONZE, Tier.GOLD, "2026-06-01 00:00")
    change(program["dan"], Tier.BRONZE, Tier.SILVER, "2026-08-01 00:00")
    db.session.get(Advocate, program["ann"]).tier = Tier.GOLD
    db.session.get(Advocate, program["bob"]).tier = Tier.GOLD
    db.session.get(Advocate, program["dan"]).tier = Tier.SILVER
    db.session.flush()
    rows, _ = report_tables.advocate_asks(START, END)
    expected = {"Ann Able": "silver", "Bob Busy": "gold", "Dan Drained": "bronze"}
    assert {r.name: r.tier for r in rows} == expected
    assert {r.name: r.tier for r in report_tables.iter_advocate_asks(START, END)} == expected
    # While a period runs its end is now: the stored tiers.
    now_rows, _ = report_tables.advocate_asks(at("2026-04-01 00:00"), None)
    assert {r.name: r.tier for r in now_rows} == {"Ann Able": "gold", "Bob Busy": "gold", "Dan Drained": "silver"}


def test_a_page_of_asks_past_the_end_still_counts_the_advocates(program):
    assert report_tables.advocate_asks(START, END, limit=2, offset=2)[1] == 3
    assert report_tables.advocate_asks(START, END, limit=2, offset=10) == ([], 3)


@pytest.mark.parametrize(
    ("asks", "bucket"),
    [(4, "healthy"), (5, "acceptable"), (6, "acceptable"), (7, "at_risk"), (10, "at_risk"), (11, "burning")],
)
def test_burnout_bucket_edges_in_the_table(ctx, make, asks, bucket):
    from challenges.models import Ask, AskKind
    from hub.extensions import db

    eve = make.advocate(name="Eve Edge")
    for n in range(asks):
        db.session.add(
            Ask(
                advocate_id=eve.id,
                kind=AskKind.MEDIUM,
                source_type="test",
                source_id=f"edge-{n}",
                asked_at=at("2026-06-01 00:00") - dt.timedelta(days=n),
            )
        )
    db.session.flush()
    [row], _ = report_tables.advocate_asks(START, END)
    assert (row.asks, row.asks_last_365, row.burnout) == (asks, asks, bucket)


@pytest.mark.parametrize(
    ("query", "today", "expected"),
    [
        ({}, dt.date(2026, 11, 30), ("this_quarter", dt.date(2026, 10, 1), dt.date(2026, 12, 31))),
        (
            {"period": "last_quarter"},
            dt.date(2026, 1, 15),
            ("last_quarter", dt.date(2025, 10, 1), dt.date(2025, 12, 31)),
        ),
        ({"period": "last_quarter"}, dt.date(2026, 5, 2), ("last_quarter", dt.date(2026, 1, 1), dt.date(2026, 3, 31))),
        (
            {"period": "year_to_date"},
            dt.date(2026, 11, 30),
            ("year_to_date", dt.date(2026, 1, 1), dt.date(2026, 11, 30)),
        ),
        # One date: to the end of its quarter, or from its start (challenges.reports.report_period).
        ({"from": "2026-02-01"}, dt.date(2026, 11, 30), ("custom", dt.date(2026, 2, 1), dt.date(2026, 3, 31))),
        ({"to": "2026-05-10"}, dt.date(2026, 11, 30), ("custom", dt.date(2026, 4, 1), dt.date(2026, 5, 10))),
        # Custom without dates is this quarter; longer than 20 years falls back to it (with a note).
        ({"period": "custom"}, dt.date(2026, 11, 30), ("this_quarter", dt.date(2026, 10, 1), dt.date(2026, 12, 31))),
        (
            {"from": "1900-01-01", "to": "2999-12-31"},
            dt.date(2026, 11, 30),
            ("this_quarter", dt.date(2026, 10, 1), dt.date(2026, 12, 31)),
        ),
        (
            {"period": "custom", "from": "2026-02-01", "to": "2026-02-28"},
            dt.date(2026, 11, 30),
            ("custom", dt.date(2026, 2, 1), dt.date(2026, 2, 28)),
        ),
        # A preset wins over stray dates.
        (
            {"period": "this_quarter", "from": "2020-01-01"},
            dt.date(2026, 2, 3),
            ("this_quarter", dt.date(2026, 1, 1), dt.date(2026, 3, 31)),
        ),
    ],
)
def test_period_presets(app, query, today, expected):
    with app.test_request_context():
        period = resolve(PeriodQuery.model_validate(query), today)
    assert (period.preset, period.since, period.until) == expected


def page_of(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


def test_reports_page_shows_every_table_for_the_period(client, login, make, program):
    login(client, make.user("owner"))
    html = page_of(client, f"/admin/reports?{Q2_ARGS}")
    assert 'data-testid="challenge-table"' in html and "Review on G2" in html and "67%" in html and "13.0 h" in html
    assert 'data-testid="group-table"' in html and "EMEA" in html
    assert 'data-testid="redemption-table"' in html and "Hoodie" in html
    assert 'data-testid="asks-table"' in html and "Dan Drained" in html and "acceptable" in html
    assert "Apr 1, 2026 – Jun 30, 2026" in html
    # Each CSV link carries the period.
    for name in ("attribution", "challenges", "groups", "redemptions", "asks", "program"):
        assert f"/admin/reports/{name}.csv?period=custom&amp;from=2026-04-01&amp;to=2026-06-30" in html, name
    later = page_of(client, "/admin/reports?period=custom&from=2024-01-01&to=2024-03-31")
    for empty in ("challenge-table-empty", "group-table-empty", "redemption-table-empty", "asks-table-empty"):
        assert f'data-testid="{empty}"' in later, empty


@pytest.mark.parametrize(
    ("query", "notice"),
    [
        (
            "from=2026-06-30&to=2026-04-01",
            "The period ended before it began, so it is shown from Apr 1, 2026 to Jun 30, 2026.",
        ),
        ("period=custom&from=2026-02-30&to=2026-06-30", "“from=2026-02-30” was not used: A date like 2026-12-01."),
        ("period=custom&from=2026-04-01&to=99999-01-01", "“to=99999-01-01” was not used: A date like 2026-12-01."),
        ("period=custom&to=9999-12-31", "“to=9999-12-31” was not used: A date from 1900-01-01 to 2999-12-31."),
        ("period=decade", "“period=decade” was not used"),
        (
            "from=1900-01-01&to=2999-12-31",
            "That period was not used (At most 20 years after from), so this quarter is shown.",
        ),
        # A period that has not begun would show today's standing figures as the future's.
        (
            "period=custom&from=2999-01-01&to=2999-03-31",
            "That period was not used (Must be today or earlier: that period has not begun), so this quarter is shown.",
        ),
        ("period=custom&from=%00&to=2026-01-01", "“from” was not used: Text may not contain NUL characters."),
        (
            "period=custom&from=2026-08-15",
            "Only “from” was given, so the period runs to the end of that quarter: Aug 15, 2026 – Sep 30, 2026.",
        ),
        (
            "period=custom&to=2026-02-10",
            "Only “to” was given, so the period runs from the start of that quarter: Jan 1, 2026 – Feb 10, 2026.",
        ),
    ],
)
@pytest.mark.parametrize("path", ["/admin/reports", "/admin/"])
def test_a_bad_range_is_a_message_on_the_page_never_an_error_page(client, login, make, program, query, notice, path):
    login(client, make.user("owner"))
    html = page_of(client, f"{path}?{query}")
    assert notice in html
    assert 'data-testid="period-switch"' in html


def test_a_refused_range_keeps_what_the_owner_typed(client, login, make, program):
    login(client, make.user("owner"))
    html = page_of(client, "/admin/reports?period=custom&from=1900-01-01&to=2999-12-31")
    assert 'name="from" value="1900-01-01"' in html and 'name="to" value="2999-12-31"' in html


def test_a_reversed_range_shows_the_same_tables_as_the_right_way_round(client, login, make, program):
    login(client, make.user("owner"))
    reversed_ = page_of(client, "/admin/reports?from=2026-06-30&to=2026-04-01")
    assert "Apr 1, 2026 – Jun 30, 2026" in reversed_ and "13.0 h" in reversed_


def read_csv(client, path: str) -> list[list[str]]:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    assert response.mimetype == "text/csv" and response.is_streamed
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_each_csv_honours_the_period(client, login, make, program):
    login(client, make.user("owner"))
    challenges = read_csv(client, f"/admin/reports/challenges.csv?{Q2_ARGS}")
    assert challenges[0] == [
        "challenge_id", "title", "type", "completions", "approved", "rejected", "approval_rate",
        "median_hours_to_approve", "points_paid", "asks_spent",
    ]  # fmt: skip
    assert challenges[1:] == [
        [str(program["a"]), "Review on G2", "custom", "4", "2", "1", "0.6667", "13.0", "200", "3"],
        [str(program["b"]), "Case study", "custom", "1", "1", "0", "1.0", "4.0", "250", "1"],
    ]
    groups = read_csv(client, f"/admin/reports/groups.csv?{Q2_ARGS}")
    assert {row[1]: row[2:] for row in groups[1:]} == {
        "EMEA": ["4", "3", "0", "1.0", "4.0", "450", "4"],
        "NA": ["2", "2", "0", "1.0", "14.0", "350", "2"],
    }
    redemptions = read_csv(client, f"/admin/reports/redemptions.csv?{Q2_ARGS}")
    assert [row[0] for row in redemptions[1:]] == [str(program["r2"]), str(program["r1"])]
    assert redemptions[1][1] == "2026-06-30T23:59:00+00:00"
    asks = read_csv(client, f"/admin/reports/asks.csv?{Q2_ARGS}")
    assert [(row[1], row[4], row[8], row[9]) for row in asks[1:]] == [
        ("Dan Drained", "0", "5", "acceptable"),
        ("Ann Able", "2", "2", "healthy"),
        ("Bob Busy", "2", "2", "healthy"),
    ]
    # Q3 holds a5 and r3 only.
    q3 = "period=custom&from=2026-07-01&to=2026-09-30"
    assert [row[1:4] for row in read_csv(client, f"/admin/reports/challenges.csv?{q3}")[1:]] == [
        ["Review on G2", "custom", "1"]
    ]
    assert [row[0] for row in read_csv(client, f"/admin/reports/redemptions.csv?{q3}")[1:]] == [str(program["r3"])]


@pytest.mark.parametrize(
    "query",
    [
        "from=2026-06-30&to=2026-04-01",  # reversed: the same rows as Q2
        "period=custom&from=2026-04-01&to=2026-06-30",
    ],
)
def test_a_reversed_range_on_a_csv_is_read_the_right_way_round(client, login, make, program, query):
    login(client, make.user("owner"))
    rows = read_csv(client, f"/admin/reports/challenges.csv?{query}")
    assert [row[1] for row in rows[1:]] == ["Review on G2", "Case study"]


@pytest.mark.parametrize(
    "query",
    ["period=custom&from=2026-02-30", "period=custom&to=99999-01-01", "period=custom&from=9999-12-31", "period=x"],
)
@pytest.mark.parametrize("name", ["attribution", "challenges", "groups", "redemptions", "asks", "program"])
def test_an_impossible_date_on_a_csv_is_left_out_never_a_500(client, login, make, query, name):
    login(client, make.user("owner"))
    response = client.get(f"/admin/reports/{name}.csv?{query}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.get_data(as_text=True).count("\n") >= 1


def test_csvs_are_for_owners_only(client, login, make):
    login(client, make.user("manager"))
    for name in ("attribution", "challenges", "groups", "redemptions", "asks", "program"):
        assert client.get(f"/admin/reports/{name}.csv").status_code == 403, name
    assert client.get("/admin/audit.csv").status_code == 403


# Names the services accept (a tab or carriage return is refused in a name; csv_safe covers them
# below).
HOSTILE = ['=HYPERLINK("http://evil.example","x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)"]


@pytest.mark.parametrize("name", HOSTILE)
def test_csv_neutralises_formulas_in_every_text_cell(client, login, make, name):
    from challenges.models import Completion, CompletionStatus
    from challenges.services.completion_tallies import rebuild_completion_totals
    from hub.extensions import db
    from tests.support.challenges import create_challenge

    advocate = make.advocate(name=name, groups=(name[:60],))
    challenge = create_challenge(title=name, points=10)
    db.session.add(
        Completion(
            challenge_id=challenge.id,
            advocate_id=advocate.id,
            status=CompletionStatus.APPROVED,
            points_offered=10,
            points_awarded=10,
            submitted_at=at("2026-05-01 00:00"),
            decided_at=at("2026-05-01 01:00"),
        )
    )
    rebuild_completion_totals()  # the row was written, not submitted: count it as a submission would
    db.session.commit()
    login(client, make.user("owner"))
    challenges = read_csv(client, f"/admin/reports/challenges.csv?{Q2_ARGS}")
    assert challenges[1][1] == "'" + name
    groups = read_csv(client, f"/admin/reports/groups.csv?{Q2_ARGS}")
    assert groups[1][1] == "'" + name[:60]


def test_csv_keeps_numbers_as_numbers_and_quotes_formula_text():
    from hub.csv_files import csv_lines

    # A plain number is one, written as a number or as text (an audit entry's "-5" before/after):
    # it keeps its sign and stays summable; anything more after a sign is quoted.
    assert list(csv_lines(["a", "b"], [[-5, "-5"], [None, "x"], ["+12.50", "-2+3"], ["-1e3", "-5 "]])) == [
        "a,b\r\n",
        "-5,-5\r\n",
        ",x\r\n",
        "+12.50,'-2+3\r\n",
        "'-1e3,'-5 \r\n",
    ]
    assert list(csv_lines(["=h"], [["\t=1+1"], ["\r=1+1"], ["a=1"]])) == [
        "'=h\r\n",
        "'\t=1+1\r\n",
        '"\'\r=1+1"\r\n',
        "a=1\r\n",
    ]


def test_the_api_answers_the_same_tables(api, make, program):
    owner = api(make.user("owner"))
    body = owner.get("/reports/challenges?from=2026-04-01&to=2026-06-30").json
    assert (body["from"], body["to"]) == ("2026-04-01", "2026-06-30")
    assert [
        (
            r["id"],
            r["name"],
            r["completions"],
            r["approval_rate"],
            r["median_hours_to_approve"],
            r["points_paid"],
            r["asks_spent"],
        )
        for r in body["items"]
    ] == [(program["a"], "Review on G2", 4, 0.6667, 13.0, 200, 3), (program["b"], "Case study", 1, 1.0, 4.0, 250, 1)]
    groups = owner.get("/reports/groups?from=2026-04-01&to=2026-06-30").json["items"]
    assert {g["name"]: (g["completions"], g["median_hours_to_approve"], g["points_paid"]) for g in groups} == {
        "EMEA": (4, 4.0, 450),
        "NA": (2, 14.0, 350),
    }
    reversed_ = owner.get("/reports/challenges?from=2026-06-30&to=2026-04-01")
    assert reversed_.status_code == 422 and reversed_.json["error"]["fields"] == {"to": ["Must be on or after `from`."]}
    assert owner.get("/reports/groups?from=2026-02-30").status_code == 422
    assert api(make.user("manager")).get("/reports/challenges").status_code == 403


def tile(html: str, key: str) -> str:
    """The big figure of the tile `data-testid=key` (a headline or a rewards tile)."""
    start = html.index(f'data-testid="{key}"')
    tag = html.rindex("<", 0, start)
    big = tag if 'class="big' in html[tag:start] else html.index('class="big', start)
    return html[html.index(">", big) + 1 : html.index("</span>", big)].strip()


def test_every_figure_on_the_dashboard_follows_the_period(client, login, make, program):
    login(client, make.user("owner"))
    q2 = page_of(client, f"/admin/?{Q2_ARGS}")
    now = page_of(client, "/admin/")
    # Redemptions requested in Q2: r1 (requested) and r2 (fulfilled); r3 is Q3's. This quarter
    # (the tests run after Q2 2026) has none of them.
    assert (tile(q2, "redemptions-requested"), tile(q2, "redemptions-fulfilled"), tile(q2, "redemptions-approved")) == (
        "1",
        "1",
        "0",
    )
    assert tile(now, "redemptions-requested") == "0" and tile(now, "redemptions-approved") == "0"
    # The four advocates joined today: none was an advocate at the end of Q2, all are bronze now.
    assert tile(q2, "headline-tier-bronze") == "0" and tile(now, "headline-tier-bronze") == "4"
    # Standing figures say when they were read: at a past period's end, today for the running one.
    for html, when in ((q2, "at the period&#39;s end"), (now, "today")):
        for key in ("headline-tier-bronze", "headline-outstanding"):
            unit = html.index('class="unit"', html.index(f'data-testid="{key}"'))
            assert html[unit : html.index("previous period", unit)].endswith(f">{when} · "), (key, when)
    # The period compared with is named: the quarter before Q2.
    assert "Jan 1, 2026 – Mar 31, 2026" in q2
    # Nothing on the page is an all-time figure any more.
    assert 'Points issued</span><span class="big">' not in q2


def test_the_reports_page_shows_every_program_figure_with_the_previous_period(client, login, make, program):
    login(client, make.user("owner"))
    html = page_of(client, f"/admin/reports?{Q2_ARGS}")
    # Approved in Q2: a1, a2, b1, b2 (decided Apr 1 00:30) — but the advocates joined after Q2,
    # so none is counted as an advocate of Q2; points moved are the ledger's, not the people's.
    for key in ("advocates", "active", "activation", "participation", "asks", "reviews", "issued", "redeemed"):
        assert f'data-testid="headline-{key}"' in html, key
    assert tile(html, "headline-redemptions-requested") == "1"
    assert tile(html, "headline-redemptions-fulfilled") == "1"
    assert "Each figure beside the previous period, Jan 1, 2026 – Mar 31, 2026." in html


def test_chart_series_never_take_the_tier_or_status_colours():
    from admin import charts

    named = {f"Type {n}": [n, 0, 1] for n in range(13)}
    series = charts._stacked(named)
    # ux.md: tier colours only for status; at most six series, the rest summed as "Other".
    assert len(series) == len(charts.SERIES_COLOURS) == 6
    assert {s.colour for s in series} == set(charts.SERIES_COLOURS)
    assert not {s.colour for s in series} & {"bronze", "silver", "gold", "ok", "bad", "warn"}
    # Largest five by total are Type 12 … Type 8; Other sums Type 0 … 7 month by month.
    assert [s.label for s in series] == ["Type 8", "Type 9", "Type 10", "Type 11", "Type 12", "Other"]
    assert series[-1].values == [sum(range(8)), 0, 8]


def test_a_long_range_is_drawn_per_quarter_or_year():
    from admin import charts

    months = [f"{y}-{m:02d}" for y in (2024, 2025, 2026, 2027) for m in range(1, 13)]  # 48 months
    assert charts._summed(months, [1] * 48, "quarter") == [3] * 16
    assert charts._bucket_of("2025-05", "quarter") == "Q2 2025" and charts._bucket_of("2025-05", "year") == "2025"
    assert charts._summed(months, list(range(48)), "year") == [sum(range(12 * k, 12 * k + 12)) for k in range(4)]
