"""Issue 20: the staff side navigation is grouped, role-aware (each link only for the roles its
view admits; sales see only theirs) and marks the page the user is on."""

from __future__ import annotations

import re

from admin.navigation import staff_navigation
from hub.models import Role


def _links(html: str) -> list[str]:
    nav = re.search(r'<details class="staff-nav".*?</details>', html, re.S).group(0)
    return re.findall(r">([^<>]+)</a></li>", nav)


def _groups(role: Role, path: str = "/admin/") -> dict[str, list[str]]:
    return {title: [link.label for link in links] for title, links in staff_navigation(role, path)}


def test_owners_see_every_group_in_order(app):
    with app.test_request_context():
        groups = _groups(Role.OWNER)
    assert list(groups) == ["Program", "Engage", "Rewards", "People", "Sales", "Settings"]
    assert groups["Program"] == ["Dashboard", "Reports", "Review incentives", "Leaderboard"]
    assert groups["Engage"] == ["Challenges", "Review queue", "Community", "Reported posts"]
    assert groups["Rewards"] == ["Catalog", "Redemptions"]
    assert groups["People"] == ["Advocates", "Invitations", "Groups", "Accounts", "Candidates", "Nominations", "Users"]
    assert groups["Sales"] == ["References", "Referrals", "CRM"]
    assert groups["Settings"] == ["Settings", "Emails", "Failed jobs", "Audit log"]


def test_managers_miss_the_owner_only_pages_and_sales_see_only_theirs(app):
    with app.test_request_context():
        manager, sales = _groups(Role.MANAGER), _groups(Role.SALES, "/references")
    assert "Reports" not in manager["Program"] and "Users" not in manager["People"]
    assert manager["Settings"] == ["Emails", "Failed jobs"]
    assert sales == {
        "Program": ["Leaderboard"],
        "Engage": ["Community"],
        "Sales": ["References", "Nominate a customer"],
    }


def test_the_current_page_is_marked_by_the_longest_matching_link(app):
    with app.test_request_context():
        marked = {
            path: [link.label for _, links in staff_navigation(Role.OWNER, path) for link in links if link.current]
            for path in (
                "/admin/",
                "/admin/challenges/7/edit",
                "/admin/settings/caps",
                "/admin/rewardsx",
                "/me/profile",
            )
        }
    assert marked == {
        "/admin/": ["Dashboard"],
        "/admin/challenges/7/edit": ["Challenges"],
        "/admin/settings/caps": ["Settings"],
        "/admin/rewardsx": [],
        "/me/profile": [],
    }


def test_pages_draw_it_for_staff_and_not_for_advocates(as_role):
    owner = as_role("owner")
    html = owner.get("/admin/review").get_data(as_text=True)
    assert '<a href="/admin/review" aria-current="page">Review queue</a>' in html
    assert len(_links(html)) == 24 and html.count('aria-current="page"') == 1
    sales = as_role("sales")
    assert _links(sales.get("/references").get_data(as_text=True)) == [
        "Leaderboard",
        "Community",
        "References",
        "Nominate a customer",
    ]
    advocate = as_role("advocate")
    assert 'class="staff-nav"' not in advocate.get("/").get_data(as_text=True)
