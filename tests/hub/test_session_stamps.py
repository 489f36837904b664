"""The cache stamps ride on the session user's statement (hub.accounts.user_for_session, issue 22):
a signed-in page sends no stamps query of its own, and what the stamps guard — settings, the
catalogue — still changes at the next page after another session commits a change."""

from __future__ import annotations

from hub.extensions import db
from hub.settings import save_setting
from tests.support.environment import TEST_PASSWORD


def test_a_signed_in_page_reads_the_stamps_with_its_user(client, login, make, sql_statements):
    advocate = make.advocate(points=1200)
    login(client, advocate.user)
    client.get("/")
    sql_statements.clear()
    assert client.get("/").status_code == 200
    assert not [s for s in sql_statements if s.lstrip().startswith("SELECT cache_stamps")]
    (session_user,) = [s for s in sql_statements if "user_sessions" in s]
    assert "FROM users" in session_user and "cache_stamps" in session_user


def test_a_setting_saved_elsewhere_shows_at_the_next_page(client, login, make):
    advocate = make.advocate(points=1200)
    login(client, advocate.user)
    assert "3,800 points to Gold" in client.get("/").get_data(as_text=True)  # 5,000 − 1,200
    save_setting("tier_thresholds", {"silver": 1000, "gold": 6000}, None)  # another session, committed
    db.session.commit()
    assert "4,800 points to Gold" in client.get("/").get_data(as_text=True)  # 6,000 − 1,200


def test_an_unknown_session_signs_nobody_in_and_leaves_the_stamps_to_be_read(app, sql_statements):
    from hub import stamps
    from hub.accounts import user_for_session

    with app.test_request_context("/"):
        assert user_for_session("no-such-session") is None
        sql_statements.clear()
        stamps.current("settings")
        assert [s for s in sql_statements if "cache_stamps" in s]  # read now, by itself


def test_an_advocates_groups_come_with_their_user(client, login, make, sql_statements):
    from tests.support.challenges import create_challenge

    advocate = make.advocate(groups=("APAC",))
    create_challenge(None, title="For APAC", target_groups=["APAC"])
    login(client, advocate.user)
    client.get("/")
    sql_statements.clear()
    assert "For APAC" in client.get("/").get_data(as_text=True)
    assert not [s for s in sql_statements if "advocate_groups" in s and "user_sessions" not in s]


def test_a_group_joined_elsewhere_shows_at_the_next_page(app, client, make):
    """Each request its own app context, as in production (a test's own context would keep the
    previous request's `g`, and the feed computed in it)."""
    from sqlalchemy import insert, select

    from hub.models import Group, advocate_groups
    from tests.support.challenges import create_challenge

    with app.app_context():
        make.advocate(groups=("EMEA",))
        advocate = make.advocate(groups=("APAC",))
        advocate_id, email = advocate.id, advocate.user.email
        create_challenge(None, title="For EMEA", target_groups=["EMEA"])
    assert client.post("/login", data={"email": email, "password": TEST_PASSWORD}).status_code == 302
    assert "For EMEA" not in client.get("/").get_data(as_text=True)
    with app.app_context():
        emea = db.session.scalar(select(Group.id).where(Group.name == "EMEA"))
        db.session.execute(insert(advocate_groups).values(advocate_id=advocate_id, group_id=emea))
        db.session.commit()
    assert "For EMEA" in client.get("/").get_data(as_text=True)
