"""The cache stamps ride on the session user's statement (hub.accounts.user_for_session, issue 22):
a signed-in page sends no stamps query of its own, and what the stamps guard — settings, the
catalogue — still changes at the next page after another session commits a change."""

from __future__ import annotations

from hub.extensions import db
from hub.settings import save_setting


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
