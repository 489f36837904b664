"""Issue 12's property test: random Unicode (hypothesis) in every text field of the API's request
bodies answers 2xx or 422 — never a 5xx — and never stores a control character.

The text fields are read from the published openapi.json (every string property of a body, and
every list of strings), so a field added to a body later is fuzzed too; each operation that takes
a text field needs a case below (a caller and a valid body to vary one field of), and
`test_every_text_field_has_a_case` fails until it has one. A 409 is allowed only where the
varied value collides with a unique one already stored (an email, an external id).
"""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import String, Text, select

from hub.extensions import db

PREFIX = "/api/v1"
ALLOWED_CONTROLS = {"\n", "\t"}  # multi-line text keeps these; nothing else of category Cc

# Random Unicode, and text built from the characters that broke things before: NUL and other
# controls, invisible and direction-override characters, line breaks, combining marks, BOMs,
# lone surrogates, an IDNA domain, digits with commas.
TRICKY = [
    "\x00",
    "\x07",
    "\x1b",
    "\x7f",
    "\x85",
    "\u200b",
    "\u200d",
    "\u202e",
    "\u2066",
    "\ufeff",
    "\u3164",
    "\u2028",
    "\n",
    "\r",
    "\t",
    " ",
    "\u0301",
    "\ud800",
    "%",
    "_",
    "\\",
    "@",
    ".",
    ",",
    "1",
    "a",
    "é",
    "ü",
    "漢",
    "👩",
    "bücher",
    "example.org",
    "9999-12-31",
]
KNOWN_BAD = ["\u200b\u200b\u200b", "Eve\u0007", "Line one.\nLine two.", "\u202eevil", "a\x00b", "\ud800", "12500,50"]
TEXT = st.one_of(
    st.text(max_size=80),
    st.lists(st.sampled_from(TRICKY), max_size=12).map("".join),
    st.text(st.characters(codec="utf-8"), min_size=1, max_size=300),
)


@dataclass
class World:
    """The rows every case can use: one user per role (each with its API client) and targets."""

    clients: dict[str, Any]
    ids: dict[str, int] = field(default_factory=dict)
    counter: itertools.count = field(default_factory=lambda: itertools.count(1))


@dataclass
class Case:
    """One operation: who calls it, a valid body for example `n`, and the path's ids (made once
    per example where a call uses its target up, e.g. rejecting a completion)."""

    role: str
    body: Callable[[int], dict[str, Any]]
    ids: Callable[[World], dict[str, int]] = lambda world: {}
    # 409 codes this operation answers for a value another row already holds
    collisions: frozenset[str] = frozenset({"already_exists", "conflict", "duplicate"})


def _challenge(world: World, **extra: Any) -> int:
    manager = world.clients["manager"]
    body = {"title": "Say hello", "type": "custom", "effort": "low", "points": 5, "max_per_advocate": 1000} | extra
    created = manager.post("/challenges", body)
    assert created.status_code == 201, created.json
    assert manager.post(f"/challenges/{created.json['id']}/publish").status_code == 200
    return created.json["id"]


def _pending_completion(world: World) -> dict[str, int]:
    challenge_id = _challenge(world)
    done = world.clients["advocate"].post(f"/challenges/{challenge_id}/completions", {"evidence_text": "Was there"})
    assert done.status_code == 201, done.json
    return {"completion_id": done.json["id"]}


def _redemption(world: World) -> dict[str, int]:
    made = world.clients["advocate"].post(f"/rewards/{world.ids['reward_id']}/redemptions", {"confirmed_cost": 1})
    assert made.status_code == 201, made.json
    return {"redemption_id": made.json["id"]}


def _approved_redemption(world: World) -> dict[str, int]:
    ids = _redemption(world)
    assert world.clients["manager"].post(f"/redemptions/{ids['redemption_id']}/approve").status_code == 200
    return ids


def _user_id(world: World, role: str) -> int:
    me = world.clients[role].get("/me")
    assert me.status_code == 200, me.json
    return me.json["id"]


def _fresh_advocate(world: World) -> dict[str, int]:
    n = next(world.counter)
    made = world.clients["manager"].post("/advocates", {"email": f"erase{n}@example.org", "name": "Erin"})
    assert made.status_code == 201, made.json
    return {"advocate_id": made.json["id"]}


def _fresh_account(world: World) -> dict[str, int]:
    n = next(world.counter)
    made = world.clients["manager"].post(
        "/advocates", {"email": f"acct{n}@example.org", "name": "Abe", "company": f"Fuzzworks {n}"}
    )
    assert made.status_code == 201 and made.json["account_id"], made.json
    return {"account_id": made.json["account_id"]}


def _trust_signal(world: World) -> dict[str, int]:
    """A fresh uncleared signal (signals come from jobs, not from the API)."""
    from hub import trust
    from hub.models import TrustSignal

    n = next(world.counter)
    advocate_id = world.ids["advocate_id"]
    trust.record_signal(advocate_id, "short_answer", f"fuzz-{n}", "Answer of 2 characters: “ok”.")
    db.session.commit()
    signal_id = db.session.scalar(
        select(TrustSignal.id).where(TrustSignal.advocate_id == advocate_id, TrustSignal.source_key == f"fuzz-{n}")
    )
    return {"advocate_id": advocate_id, "signal_id": signal_id}


def _staff_question(world: World) -> dict[str, int]:
    """A question by a manager, for the advocate to report (once per post)."""
    made = world.clients["manager"].post("/questions", {"title": "Staff question", "body": "Read me"})
    assert made.status_code == 201, made.json
    return {"question_id": made.json["id"]}


def _staff_answer(world: World) -> dict[str, int]:
    made = world.clients["manager"].post(f"/questions/{world.ids['question_id']}/answers", {"body": "Like this"})
    assert made.status_code == 201, made.json
    return {"answer_id": made.json["id"]}


NOMINATION = {"name": "Nina", "company": "Acme", "reason": "Great fit"}


def _nomination(world: World) -> dict[str, int]:
    n = next(world.counter)
    made = world.clients["sales"].post("/nominations", NOMINATION | {"email": f"decline{n}@acme.example"})
    assert made.status_code == 201, made.json
    return {"nomination_id": made.json["id"]}


def _fresh_group(world: World) -> dict[str, int]:
    made = world.clients["manager"].post("/groups", {"name": f"Fuzz group {next(world.counter)}"})
    assert made.status_code == 201, made.json
    return {"group_id": made.json["id"]}


OPPORTUNITY = {
    "name": "Deal",
    "account": "Acme",
    "amount": "10.00",
    "currency": "USD",
    "stage": "Proposal",
    "created_date": "2026-01-05",
}
REFERENCE_REQUEST = {
    "prospect_company": "Globex",
    "industry": "Healthcare",
    "company_size": "201-1000",
    "use_case": "Intake",
    "stage": "poc",
    "deal_size": "1000.00",
    "needed_by": "2999-01-01",
    "format": "video",
    "topics": "rollout",
    "opportunity_external_id": "SF-1",
}

CASES: dict[tuple[str, str], Case] = {
    ("post", "/advocates"): Case("manager", lambda n: {"email": f"p{n}@example.org", "name": "Pat"}),
    ("post", "/advocates/imports"): Case(
        "manager", lambda n: {"csv": f"name,email\nPat,import{n}@example.org\n", "filename": "people.csv"}
    ),
    ("post", "/challenges"): Case("manager", lambda n: {"title": "T", "type": "review", "points": 10}),
    ("post", "/advocates/{advocate_id}/trust-signals/{signal_id}/clear"): Case(
        "manager", lambda n: {"reason": "Checked"}, _trust_signal
    ),
    ("patch", "/challenges/{challenge_id}"): Case(
        "manager", lambda n: {}, lambda world: {"challenge_id": world.ids["challenge_id"]}
    ),
    ("post", "/challenges/{challenge_id}/completions"): Case(
        "advocate",
        lambda n: {"evidence_text": "Was there", "answers": ["Because"]},
        lambda world: {"challenge_id": _challenge(world, type="survey", quiz={"questions": [{"prompt": "Why?"}]})},
    ),
    ("post", "/completions/{completion_id}/reject"): Case("manager", lambda n: {"reason": "Why"}, _pending_completion),
    ("post", "/advocates/{advocate_id}/adjustments"): Case(
        "owner", lambda n: {"points": 1, "memo": "Thanks"}, lambda world: {"advocate_id": world.ids["advocate_id"]}
    ),
    ("post", "/rewards"): Case("manager", lambda n: {"name": "Mug", "kind": "swag", "points_cost": 1}),
    ("patch", "/settings"): Case("owner", lambda n: {}),
    ("post", "/simulations"): Case("owner", lambda n: {}),
    ("patch", "/rewards/{reward_id}"): Case(
        "manager", lambda n: {}, lambda world: {"reward_id": world.ids["reward_id"]}
    ),
    ("post", "/rewards/{reward_id}/redemptions"): Case(
        "advocate", lambda n: {"confirmed_cost": 1}, lambda world: {"reward_id": world.ids["reward_id"]}
    ),
    ("post", "/redemptions/{redemption_id}/reject"): Case("manager", lambda n: {"reason": "Gone"}, _redemption),
    ("post", "/redemptions/bulk"): Case(
        "manager", lambda n: {"ids": [n], "action": "reject", "reason": "Gone", "note": "Sent"}
    ),
    ("post", "/completions/bulk"): Case("manager", lambda n: {"ids": [n], "decision": "reject", "reason": "Why"}),
    ("post", "/redemptions/{redemption_id}/fulfill"): Case("manager", lambda n: {"note": "Sent"}, _approved_redemption),
    ("post", "/reference-requests"): Case("sales", lambda n: dict(REFERENCE_REQUEST)),
    ("post", "/referrals"): Case(
        "advocate", lambda n: {"name": "Lead", "email": f"lead{n}@acme.example", "company": "Acme", "consent": True}
    ),
    ("post", "/crm/opportunities"): Case("owner", lambda n: OPPORTUNITY | {"external_id": f"opp-{n}"}),
    ("patch", "/me"): Case("advocate", lambda n: {}),
    ("patch", "/advocates/{advocate_id}"): Case(
        "manager", lambda n: {}, lambda world: {"advocate_id": world.ids["advocate_id"]}
    ),
    ("patch", "/users/{user_id}"): Case("owner", lambda n: {}, lambda world: {"user_id": _user_id(world, "sales")}),
    ("post", "/advocates/{advocate_id}/erase"): Case("owner", lambda n: {"confirm": True}, _fresh_advocate),
    ("patch", "/accounts/{account_id}"): Case(
        # a name another account holds is refused with `invalid_state` ("merge the two instead")
        "manager",
        lambda n: {},
        lambda world: _fresh_account(world),
        collisions=frozenset({"invalid_state"}),
    ),
    ("post", "/advocates/{advocate_id}/persona"): Case(
        "manager", lambda n: {}, lambda world: {"advocate_id": world.ids["advocate_id"]}
    ),
    ("post", "/nominations"): Case("sales", lambda n: NOMINATION | {"email": f"nominee{n}@acme.example"}),
    # a group name another group holds (whatever its case) is a field error, 422
    ("post", "/groups"): Case("manager", lambda n: {"name": f"Group {n}"}),
    ("patch", "/groups/{group_id}"): Case("manager", lambda n: {}, _fresh_group),
    ("post", "/groups/{group_id}/members"): Case("manager", lambda n: {}, _fresh_group),
    ("post", "/nominations/{nomination_id}/decline"): Case("manager", lambda n: {"reason": "Not now"}, _nomination),
    ("post", "/questions"): Case("advocate", lambda n: {"title": "How do you roll out?", "body": "Tell me"}),
    ("post", "/questions/{question_id}/answers"): Case(
        "advocate", lambda n: {"body": "Like so"}, lambda world: {"question_id": world.ids["question_id"]}
    ),
    ("post", "/questions/{question_id}/reports"): Case("advocate", lambda n: {"reason": "Spam"}, _staff_question),
    ("post", "/answers/{answer_id}/reports"): Case("advocate", lambda n: {"reason": "Spam"}, _staff_answer),
}

# Operations with text fields not varied here, and why (each is a one-way step of a row made
# for it: the same field types are fuzzed through the operations above).
NOT_FUZZED = {
    ("post", "/reference-requests/{request_id}/feedback"): "one feedback per filled request",
    ("post", "/reference-requests/{request_id}/unfilled"): "closes its request",
    ("post", "/questions/{question_id}/hide"): "hides its question once",
    ("post", "/answers/{answer_id}/hide"): "hides its answer once",
    ("post", "/me/erase"): "erases its caller once (the same body is fuzzed through the owner's erase)",
}


def _schema(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    return doc["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else schema


def _kinds(doc: dict[str, Any], schema: dict[str, Any]) -> list[dict[str, Any]]:
    return [_schema(doc, s) for s in schema.get("anyOf", [schema])]


def text_fields(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, str]]:
    """{(method, path): {field: "text" | "list"}} for every body with a string or list-of-strings field."""
    found: dict[tuple[str, str], dict[str, str]] = {}
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if not content:
                continue
            body = _schema(doc, content["schema"])
            fields: dict[str, str] = {}
            for name, prop in body.get("properties", {}).items():
                kinds = _kinds(doc, prop)
                if any(k.get("type") == "string" for k in kinds):
                    fields[name] = "text"
                elif any(
                    k.get("type") == "array"
                    and any(item.get("type") == "string" for item in _kinds(doc, _schema(doc, k["items"])))
                    for k in kinds
                ):
                    fields[name] = "list"
            if fields:
                found[(method, path.removeprefix(PREFIX))] = fields
    return found


@pytest.fixture()
def document(client, ctx) -> dict[str, Any]:
    return client.get(f"{PREFIX}/openapi.json").json


def test_every_text_field_has_a_case(document):
    missing = set(text_fields(document)) - set(CASES) - set(NOT_FUZZED)
    assert not missing, f"add a Case for {sorted(missing)}"


def _control_characters(value: Any) -> list[str]:
    if isinstance(value, str):
        return [c for c in value if unicodedata.category(c) == "Cc" and c not in ALLOWED_CONTROLS]
    if isinstance(value, dict):
        return [c for v in value.values() for c in _control_characters(v)]
    if isinstance(value, list):
        return [c for v in value for c in _control_characters(v)]
    return []


def stored_control_characters() -> dict[str, list[str]]:
    """Every text column of every table, read back: {"table.column": [the bad values]}."""
    found: dict[str, list[str]] = {}
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, String | Text):
                values = db.session.scalars(select(column).where(column.is_not(None))).all()
                bad = [v for v in values if isinstance(v, str) and _control_characters(v)]
                if bad:
                    found[f"{table.name}.{column.name}"] = bad[:3]
    return found


@pytest.mark.parametrize(("method", "path"), sorted(CASES))
def test_random_unicode_in_every_text_field_is_2xx_or_422_and_stores_no_control_character(
    document, api, make, jobs, method, path
):
    fields = text_fields(document).get((method, path))
    assert fields, f"{method} {path} has no text field any more: drop its case"
    case = CASES[(method, path)]
    advocate = make.advocate(name="Ada Lovelace")
    clients = {role: api(make.user(role)) for role in ("owner", "manager", "sales")} | {"advocate": api(advocate.user)}
    world = World(clients)
    world.ids["advocate_id"] = advocate.id
    clients["owner"].post(f"/advocates/{advocate.id}/adjustments", {"points": 1_000_000, "memo": "Seed"})
    world.ids["challenge_id"] = (
        clients["manager"].post("/challenges", {"title": "T", "type": "custom", "points": 1}).json["id"]
    )
    world.ids["reward_id"] = (
        clients["manager"]
        .post(
            "/rewards",
            {"name": "Sticker", "kind": "swag", "points_cost": 1, "requires_approval": True, "needs_shipping": False},
        )
        .json["id"]
    )
    asked = clients["advocate"].post("/questions", {"title": "How do you roll out?", "body": "Say"})
    world.ids["question_id"] = asked.json["id"]

    def attempt(name: str, text: str) -> None:
        n = next(world.counter)
        body = case.body(n) | {name: [text] if fields[name] == "list" else text}
        url = path.format(**case.ids(world))
        client = world.clients[case.role]
        response = getattr(client, method)(url, body)
        jobs.join()
        assert response.status_code < 500, (name, text, response.status_code, response.get_data(as_text=True)[:300])
        assert response.status_code in {200, 201, 202, 409, 422}, (name, text, response.status_code, response.json)
        if response.status_code == 409:
            assert response.json["error"]["code"] in case.collisions, response.json
        if response.status_code == 422:
            assert response.json["error"]["code"] == "invalid" and response.json["error"]["fields"], response.json
        else:
            assert not _control_characters(response.json), (name, text, response.json)

    for name in sorted(fields):  # every field gets the inputs that broke things before
        for text in KNOWN_BAD:
            attempt(name, text)

    @settings(
        max_examples=20,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(name=st.sampled_from(sorted(fields)), text=TEXT)
    def example(name: str, text: str) -> None:
        attempt(name, text)

    example()
    db.session.commit()
    assert stored_control_characters() == {}
