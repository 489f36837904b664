"""Fixtures for the challenges tests: a challenge factory, a local HTTP server."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.support.challenges import Site, create_challenge


@pytest.fixture()
def make_challenge(ctx) -> Callable:
    return create_challenge


@pytest.fixture()
def site() -> Iterator[Site]:
    server = Site()
    yield server
    server.close()


@pytest.fixture()
def allow_localhost(app) -> Iterator[None]:
    """Let url_check fetch `localhost` (as VOUCH_VERIFY_ALLOW_HOSTS would); 127.0.0.1 stays refused."""
    before = app.config["VOUCH_VERIFY_ALLOW_HOSTS"]
    app.config["VOUCH_VERIFY_ALLOW_HOSTS"] = ["localhost"]
    yield
    app.config["VOUCH_VERIFY_ALLOW_HOSTS"] = before
