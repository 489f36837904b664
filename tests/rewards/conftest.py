"""Fixtures for reward and redemption tests: catalog items created through the real service."""

from __future__ import annotations

from collections.abc import Callable

import pytest


def new_reward(**values) -> int:
    """Create a reward in the current app context (committed); returns its id."""
    from hub.extensions import db
    from rewards import catalog

    body = {"name": "Hoodie", "kind": "swag", "points_cost": 100} | values
    reward = catalog.create_reward(catalog.read_reward_input(body, partial=False), None)
    db.session.commit()
    return reward.id


@pytest.fixture()
def make_reward(ctx) -> Callable[..., int]:
    return new_reward
