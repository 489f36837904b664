"""The shared test fixtures themselves: `as_role` logs a new user of each role in, and the
rolled-back isolation leaves nothing behind for the next test."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from hub.extensions import db
from hub.models import User


@pytest.mark.parametrize("role", ["advocate", "manager", "owner", "sales"])
def test_as_role_logs_in_a_new_user_of_the_role(as_role, role):
    client = as_role(role)
    assert client.user.role.value == role
    assert (client.advocate is not None) == (role == "advocate")
    advocate_page = client.get("/challenges")
    assert advocate_page.status_code == (200 if role == "advocate" else 403)


def test_as_role_anonymous_is_sent_to_log_in(as_role):
    client = as_role("anonymous")
    assert client.user is None
    response = client.get("/challenges")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_as_role_passes_profile_fields_to_the_advocate_only(as_role):
    client = as_role("advocate", name="Ada Lovelace", points=40)
    assert client.user.name == "Ada Lovelace" and client.advocate.balance == 40
    with pytest.raises(TypeError):
        as_role("manager", name="Grace")


@pytest.mark.parametrize("attempt", [1, 2])
def test_each_test_starts_from_empty_tables(ctx, make, attempt):
    """Run twice: the second run sees none of the first run's committed rows."""
    assert db.session.scalar(select(func.count()).select_from(User)) == 0
    make.user("manager")
    assert db.session.scalar(select(func.count()).select_from(User)) == 1
