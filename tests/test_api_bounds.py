"""Issue 13 item 1 and the schemathesis note: openapi.json states the bounds the server enforces —
every integer a client sends (body field, list item or query parameter) has a minimum and a
maximum within PostgreSQL's `integer`, and every date or time the range Vouch computes with — so
no generated value past them reaches the database as an accepted one."""

from __future__ import annotations

from typing import Any

import pytest

from hub.fields import DATE_RANGE, MAX_INT

PREFIX = "/api/v1"


@pytest.fixture()
def document(client, ctx) -> dict[str, Any]:
    return client.get(f"{PREFIX}/openapi.json").json


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    return doc["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else schema


def _leaves(doc: dict[str, Any], schema: dict[str, Any], where: str, seen: set[str]):
    """Every scalar schema a request can carry, with where it sits."""
    ref = schema.get("$ref")
    if ref:
        if ref in seen:
            return
        seen = seen | {ref}
    schema = _resolve(doc, schema)
    for option in schema.get("anyOf", []):
        yield from _leaves(doc, option, where, seen)
    for name, prop in schema.get("properties", {}).items():
        yield from _leaves(doc, prop, f"{where}.{name}", seen)
    if "items" in schema:
        yield from _leaves(doc, schema["items"], f"{where}[]", seen)
    if schema.get("type") in {"integer", "string"}:
        yield where, schema


def request_scalars(doc: dict[str, Any]):
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query":
                    where = f"{method.upper()} {path} ?{parameter['name']}"
                    yield from _leaves(doc, parameter["schema"], where, set())
            content = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if content:
                yield from _leaves(doc, content["schema"], f"{method.upper()} {path} body", set())


def test_every_integer_a_client_sends_is_bounded_within_postgresql_integer(document):
    unbounded = [
        where
        for where, schema in request_scalars(document)
        if schema.get("type") == "integer"
        and not (schema.get("minimum", -(2**63)) >= -MAX_INT - 1 and schema.get("maximum", 2**63) <= MAX_INT)
    ]
    assert not unbounded


def test_every_date_a_client_sends_states_its_range(document):
    found = [(where, s) for where, s in request_scalars(document) if s.get("format") in {"date", "date-time"}]
    assert found  # challenges' times, reports' periods, CRM dates
    assert [where for where, s in found if DATE_RANGE not in s.get("description", "")] == []
