"""Generated API traffic (schemathesis) against `/api/v1/openapi.json` on PostgreSQL + Redis:
no generated input may cause a server error (reliability.md "API fuzzing", issue 13 "Also").

Bounded in time: a few examples per operation (VOUCH_FUZZ_EXAMPLES, default 6), no shrinking,
no stateful phase; as the program owner (the role that reaches the most operations), with an
advocate's data present so ids in paths can name real rows. The full run of the hostile
review (thousands of cases per role) is `schemathesis run` against a live server.
"""

from __future__ import annotations

import contextlib
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error

from tests.support.factories import Factory

pytestmark = pytest.mark.services

EXAMPLES = int(os.environ.get("VOUCH_FUZZ_EXAMPLES", "6"))


@pytest.fixture()
def owner_token(pg_app) -> str:
    make = Factory()
    with pg_app.app_context():
        make.advocate(points=500)
        return make.token(make.user("owner"))


def test_no_generated_request_gets_a_server_error(pg_app, owner_token):
    """Every operation of openapi.json, EXAMPLES generated requests each; all server errors
    are collected and reported together (operation, request, status)."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", pg_app)
    headers = {"Authorization": f"Bearer {owner_token}"}
    problems: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        @given(case=operation.as_strategy())
        def exercise(case) -> None:
            response = case.call(headers=headers)
            try:
                case.validate_response(response, checks=[not_a_server_error])
            except (AssertionError, BaseExceptionGroup) as exc:
                problems.append(f"{case.operation.label}: {case.as_curl_command(headers=headers)} -> {exc}")
                raise

        # A failure is recorded above; the other operations still run.
        with contextlib.suppress(AssertionError, BaseExceptionGroup):
            exercise()
    assert operations > 40
    assert problems == []
