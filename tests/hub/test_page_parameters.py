"""Issue 12 item 8 and issue 13 item 1 on pages: a query parameter that does not fit never
answers the generic 400 page — the page shows with the parameter's default (or the nearest
valid value) and an inline message saying what was not used and why."""

from __future__ import annotations

import pytest


def page_of(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("url", "notice"),
    [
        ("/leaderboard?period=bogus", "“period=bogus” was not used: One of: all, month, quarter."),
        ("/leaderboard?group=99999999999", "“group=99999999999” was not used: An id is at most 2,147,483,647"),
        ("/leaderboard?page=0", "“page=0” was not used: Must be between 1 and 1,000,000."),
    ],
)
def test_leaderboard_parameters_that_do_not_fit_are_explained(client, make, login, url, notice):
    advocate = make.advocate(points=10)
    assert notice in page_of(login(client, advocate.user), url)


def test_a_page_past_the_last_says_so_and_links_the_last(client, make, login):
    advocate = make.advocate(points=10)
    html = page_of(login(client, advocate.user), "/leaderboard?page=999")
    assert "Page 999 of" not in html
    assert "There is no page 999; the last page is 1." in html
    assert "page=1" in html


def test_a_group_name_where_an_id_is_expected_is_read_as_the_name(client, make, login):
    make.advocate(name="In Emea", groups=("EMEA",))
    make.advocate(name="Elsewhere Eli")
    html = page_of(login(client, make.user("manager")), "/admin/advocates?group=emea")
    assert "In Emea" in html and "Elsewhere Eli" not in html


@pytest.mark.parametrize("group", ["Nowhere", "999999"])
def test_an_unknown_group_is_explained_and_every_group_shown(client, make, login, group):
    make.advocate(name="Listed Lin", groups=("EMEA",))
    html = page_of(login(client, make.user("manager")), f"/admin/advocates?group={group}")
    assert f"There is no group “{group}”, so advocates of every group are shown." in html
    assert "Listed Lin" in html


def test_a_group_id_past_integer_is_explained(client, make, login):
    html = page_of(login(client, make.user("manager")), "/admin/advocates?group=99999999999")
    assert "“group=99999999999” was not used: An id is at most 2,147,483,647; or give the name." in html


def test_a_reversed_report_period_is_shown_the_right_way_round(client, make, login):
    html = page_of(login(client, make.user("owner")), "/admin/reports?from=2026-05-01&to=2026-01-01")
    assert "The period ended before it began, so it is shown from Jan 1, 2026 to May 1, 2026." in html


def test_a_report_to_year_9999_is_explained(client, make, login):
    html = page_of(login(client, make.user("owner")), "/admin/reports?to=9999-12-31")
    assert "“to=9999-12-31” was not used: A date from 1900-01-01 to 2999-12-31." in html
