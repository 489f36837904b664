"""The published OpenAPI document is the API's contract (api.md).

- Every operation publishes its request body (where it takes one), its query parameters with
  their types and bounds, the reply of its success status and the api.md error shape.
- Real replies match it: one journey calls every operation in the document with valid data
  (and some with invalid data), and each reply is validated with jsonschema against the schema
  the document gives for that operation and status (Draft 2020-12, OpenAPI 3.1's dialect; formats
  checked too). A new endpoint fails the coverage check here until the journey calls it.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from hub.db import utcnow
from hub.extensions import db
from hub.fields import Amount
from hub.models import Invite
from rewards.models import Reward
from tests.support.uploads import HTML_PAGE, image_bytes

PREFIX = "/api/v1"
WRITES = {"post", "put", "patch"}
# Writes that take no body: the path names the whole action.
ACTIONS_WITHOUT_BODY = {
    "publish",
    "close",
    "archive",
    "duplicate",
    "approve",
    "accept",
    "decline",
    "cancel",
    "upvote",
    "read",
    "invite",
    "withdraw",
    "resend",
    "revoke",
    "delete",
    "dismiss",
}
# Exceptions to the rule above: a decline that carries a reason (api.md), and an import whose
# body is a CSV file (text/csv, not a JSON object).
ACTIONS_WITH_BODY = {f"{PREFIX}/nominations/{{nomination_id}}/decline"}
CSV_BODIES = {f"{PREFIX}/advocacy-scores/import"}
FORMATS = FormatChecker(formats=())


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    """api.md: times are ISO 8601 UTC strings (written with a Z)."""
    return not isinstance(value, str) or (value.endswith("Z") and bool(dt.datetime.fromisoformat(value)))


@FORMATS.checks("date", raises=ValueError)
def _date(value: object) -> bool:
    return not isinstance(value, str) or bool(dt.date.fromisoformat(value))


@FORMATS.checks("email")
def _email(value: object) -> bool:
    return not isinstance(value, str) or re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value) is not None


@pytest.fixture()
def document(client, ctx) -> dict[str, Any]:
    response = client.get(f"{PREFIX}/openapi.json")
    assert response.status_code == 200
    return response.json


def operations(doc: dict[str, Any]):
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def ref_target(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    match = re.fullmatch(r"#/components/schemas/(.+)", schema.get("$ref", ""))
    assert match, schema
    return doc["components"]["schemas"][match.group(1)]


# --- the document ---------------------------------------------------------------------------


def test_every_api_route_is_in_the_document(document, app):
    routes = {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(PREFIX) and rule.endpoint != "openapi.openapi_document"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert routes == {(path, method) for path, method, _ in operations(document)}


def test_every_operation_publishes_its_request_replies_and_errors(document):
    doc = document
    assert doc["openapi"].startswith("3.1")
    seen_ids = set()
    for path, method, op in operations(doc):
        where = f"{method.upper()} {path}"
        assert path.startswith(PREFIX), where
        assert op["operationId"] not in seen_ids, where
        seen_ids.add(op["operationId"])
        assert op["summary"] and op["tags"] and op["description"].startswith("Roles: "), where
        successes = [code for code in op["responses"] if code.startswith("2")]
        assert successes, where
        for code in successes:
            reply = ref_target(doc, op["responses"][code]["content"]["application/json"]["schema"])
            assert reply["type"] == "object" and reply["properties"], where
            assert reply.get("additionalProperties") is False, f"{where}: the reply lists every field"
        for code in ("401", "403", "404", "409", "422"):
            error = op["responses"][code]["content"]["application/json"]["schema"]
            assert error == {"$ref": "#/components/schemas/ErrorReply"}, (where, code)
        action = path.rsplit("/", 1)[-1]
        if path in CSV_BODIES:
            assert "requestBody" not in op and "text/csv" in op["summary"], where
        elif method in WRITES and (action not in ACTIONS_WITHOUT_BODY or path in ACTIONS_WITH_BODY):
            body = ref_target(doc, op["requestBody"]["content"]["application/json"]["schema"])
            assert body["type"] == "object" and body["properties"], where
        else:
            assert "requestBody" not in op, where
        for parameter in op["parameters"]:
            schema = parameter["schema"]
            kinds = {s.get("type") for s in schema.get("anyOf", [schema])}
            assert kinds - {"null"} <= {"integer", "string", "boolean"} and kinds - {"null"}, (where, parameter)
            if parameter["in"] == "path":
                assert parameter["required"] and schema["type"] == "integer", (where, parameter)


def test_lists_publish_their_paging_and_filters(document):
    params = {
        (path, method): {p["name"]: p for p in op["parameters"] if p["in"] == "query"}
        for path, method, op in operations(document)
    }
    advocates = params[(f"{PREFIX}/advocates", "get")]
    assert advocates["per_page"]["schema"]["maximum"] == 200 and advocates["page"]["schema"]["minimum"] == 1
    assert advocates["tier"]["schema"]["anyOf"][0]["enum"] == ["bronze", "silver", "gold"]
    assert params[(f"{PREFIX}/leaderboard", "get")]["period"]["schema"]["enum"] == ["all", "month", "quarter"]
    report = params[(f"{PREFIX}/reports/program", "get")]
    assert report["from"]["schema"]["anyOf"][0] == {
        "type": "string",
        "format": "date",
        "description": "From 1900-01-01 to 2999-12-31.",
    }
    adjust = params[(f"{PREFIX}/advocates/{{advocate_id}}/adjustments", "post")]
    assert adjust == {}  # its only extra parameter is the header
    header = [p for p in document["paths"][f"{PREFIX}/advocates/{{advocate_id}}/adjustments"]["post"]["parameters"]]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in header)


def test_limits_are_published_once_from_the_same_constants(document):
    from challenges.services import MAX_DESCRIPTION, MAX_POINTS
    from rewards.catalog import MAX_COST

    schemas = document["components"]["schemas"]
    challenge = schemas["ChallengeBody"]["properties"]
    assert challenge["points"]["maximum"] == MAX_POINTS
    assert challenge["title"]["maxLength"] == 160
    assert challenge["description"]["anyOf"][0]["maxLength"] == MAX_DESCRIPTION
    assert set(schemas["ChallengeBody"]["required"]) == {"title", "type", "points"}
    assert "required" not in schemas["ChallengePatch"]
    assert schemas["RewardBody"]["properties"]["points_cost"]["maximum"] == MAX_COST
    assert schemas["OpportunityBody"]["properties"]["amount"]["pattern"] == Amount.PATTERN


def test_component_schemas_are_valid_json_schema(document):
    for schema in document["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


# --- real replies ---------------------------------------------------------------------------


class Contract:
    """Calls operations by their document path and checks each reply against the schema the
    document gives for that operation and status."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.called: set[tuple[str, str]] = set()

    def call(
        self,
        who,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: str = "",
        status: int = 200,
        csv: str = "",
        upload: tuple[str, str, bytes] | None = None,
        **ids,
    ):
        url = path.format(**ids) + (f"?{query}" if query else "")
        if csv:
            response = who.client.post(f"{PREFIX}{url}", data=csv, headers=who.headers | {"Content-Type": "text/csv"})
        elif upload is not None:  # multipart/form-data: the body's fields and one file (field, name, bytes)
            field, name, data = upload
            form = {**(body or {}), field: (io.BytesIO(data), name)}
            response = who.client.post(
                f"{PREFIX}{url}", data=form, content_type="multipart/form-data", headers=who.headers
            )
        else:
            response = who.get(url) if method == "get" else getattr(who, method)(url, body)
        assert response.status_code == status, (method, url, response.status_code, response.get_data(as_text=True))
        operation = self.doc["paths"][PREFIX + path][method]
        schema = operation["responses"][str(status)]["content"]["application/json"]["schema"]
        validator = Draft202012Validator(schema | {"components": self.doc["components"]}, format_checker=FORMATS)
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(response.json)]
        assert not errors, (method, url, errors)
        if status < 400:
            self.called.add((PREFIX + path, method))
        return response.json


def test_every_operation_answers_as_published(document, api, make, jobs, app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "VOUCH_UPLOAD_DIR", str(tmp_path))
    c = Contract(document)
    owner, manager, sales = make.user("owner"), make.user("manager"), make.user("sales")
    ada = make.advocate(name="Ada Lovelace", industry="Healthcare", company="Engines", groups=("EMEA",))
    grace = make.advocate(name="Grace Hopper", industry="Healthcare", company="Navy")
    as_owner, as_manager, as_sales, as_ada, as_grace = (api(u) for u in (owner, manager, sales, ada.user, grace.user))

    # the caller and advocates
    c.call(as_owner, "get", "/me")
    assert c.call(as_ada, "get", "/me")["advocate"]["id"] == ada.id
    created = c.call(
        as_manager, "post", "/advocates", {"email": "new@example.com", "name": "New", "groups": "EMEA"}, status=201
    )
    c.call(as_manager, "get", "/advocates", query="tier=bronze&q=new&per_page=5")
    c.call(as_ada, "get", "/advocates/{advocate_id}", advocate_id=ada.id)
    c.call(as_manager, "get", "/advocates/{advocate_id}", advocate_id=created["id"])
    started = c.call(
        as_manager,
        "post",
        "/advocates/imports",
        {"csv": "name,email\r\nImported One,imported@example.com\r\n\r\nBad,not-an-email\r\n", "filename": "a.csv"},
        status=202,
    )
    assert (started["status"], started["total_rows"]) == ("queued", 2)
    jobs.join()
    report = c.call(as_manager, "get", "/advocates/imports/{import_id}", import_id=started["id"])
    assert (report["status"], report["invited"], report["errors"][0]["line"]) == ("done", 1, 4)

    # challenges and completions
    webinar = c.call(
        as_manager,
        "post",
        "/challenges",
        {"title": "Join a webinar", "type": "webinar", "points": 50, "max_per_advocate": 3, "target_tiers": ["bronze"]},
        status=201,
    )
    c.call(
        as_manager,
        "patch",
        "/challenges/{challenge_id}",
        {"description": "**Tell us** which one."},
        challenge_id=webinar["id"],
    )
    c.call(as_manager, "post", "/challenges/{challenge_id}/publish", challenge_id=webinar["id"])
    quiz = {"questions": [{"prompt": "2 + 2?", "options": ["3", "4"], "answer": 1}], "pass_mark": 1}
    graded = c.call(
        as_manager, "post", "/challenges", {"title": "Quiz", "type": "quiz", "points": 5, "quiz": quiz}, status=201
    )
    c.call(as_manager, "post", "/challenges/{challenge_id}/publish", challenge_id=graded["id"])
    c.call(as_ada, "get", "/challenges/{challenge_id}", challenge_id=graded["id"])
    c.call(as_manager, "post", "/challenges/{challenge_id}/close", challenge_id=graded["id"])
    copy = c.call(as_manager, "post", "/challenges/{challenge_id}/duplicate", challenge_id=webinar["id"], status=201)
    c.call(as_manager, "post", "/challenges/{challenge_id}/archive", challenge_id=copy["id"])
    feed = c.call(as_ada, "get", "/challenges")
    assert any("available" in item for item in feed["items"])
    c.call(as_manager, "get", "/challenges", query="status=published")
    c.call(as_sales, "get", "/challenges")
    c.call(as_sales, "get", "/challenges/{challenge_id}", challenge_id=webinar["id"])
    c.call(as_manager, "get", "/challenges/{challenge_id}", challenge_id=webinar["id"])
    done = c.call(
        as_ada,
        "post",
        "/challenges/{challenge_id}/completions",
        {"evidence_text": "The spring one"},
        challenge_id=webinar["id"],
        status=201,
    )
    jobs.join()
    c.call(as_ada, "get", "/completions/{completion_id}", completion_id=done["id"])
    c.call(as_manager, "get", "/completions", query=f"challenge_id={webinar['id']}")
    c.call(as_manager, "post", "/completions/{completion_id}/approve", completion_id=done["id"])
    refused = c.call(
        as_grace,
        "post",
        "/challenges/{challenge_id}/completions",
        {"evidence_text": "None"},
        challenge_id=webinar["id"],
        status=201,
    )
    jobs.join()
    c.call(
        as_manager, "post", "/completions/{completion_id}/reject", {"reason": "Which one?"}, completion_id=refused["id"]
    )
    # evidence by upload (issue 19): multipart with the file, its description, its bytes
    photo = c.call(
        as_manager, "post", "/challenges", {"title": "Team photo", "type": "photo", "points": 20}, status=201
    )
    c.call(as_manager, "post", "/challenges/{challenge_id}/publish", challenge_id=photo["id"])
    sent = c.call(
        as_ada,
        "post",
        "/challenges/{challenge_id}/completions",
        upload=("evidence_file", "team.png", image_bytes("PNG")),
        challenge_id=photo["id"],
        status=201,
    )
    described = c.call(as_manager, "get", "/completions/{completion_id}/evidence-file", completion_id=sent["id"])
    assert described == sent["evidence_file"]
    raw = as_ada.client.get(described["download_url"], headers=as_ada.headers)
    assert raw.status_code == 200 and raw.mimetype == "image/png" and raw.get_data()[:8] == b"\x89PNG\r\n\x1a\n"
    raw.close()
    wrong = c.call(
        as_grace,
        "post",
        "/challenges/{challenge_id}/completions",
        upload=("evidence_file", "team.png", HTML_PAGE),
        challenge_id=photo["id"],
        status=422,
    )
    assert list(wrong["error"]["fields"]) == ["evidence_file"]
    c.call(as_manager, "get", "/completions/{completion_id}", completion_id=refused["id"])
    bulk = c.call(as_manager, "post", "/completions/bulk", {"ids": [refused["id"], done["id"]], "decision": "approve"})
    assert bulk["done"] == [] and [f["code"] for f in bulk["failed"]] == ["invalid_state", "invalid_state"]
    c.call(as_manager, "post", "/completions/bulk", {"ids": [done["id"]], "decision": "reject"}, status=422)

    # points, leaderboard, rewards and redemptions
    c.call(
        as_owner,
        "post",
        "/advocates/{advocate_id}/adjustments",
        {"points": 1000, "memo": "Welcome"},
        advocate_id=ada.id,
        status=201,
    )
    c.call(as_ada, "get", "/advocates/{advocate_id}/ledger", advocate_id=ada.id, query="per_page=2")
    c.call(as_ada, "get", "/leaderboard", query="period=all&limit=5")
    c.call(as_manager, "get", "/leaderboard", query="group=EMEA")
    reward = c.call(
        as_manager,
        "post",
        "/rewards",
        {"name": "Hoodie", "kind": "swag", "points_cost": 100, "stock": 5, "requires_approval": True},
        status=201,
    )
    c.call(
        as_manager,
        "patch",
        "/rewards/{reward_id}",
        {"description": "Warm", "per_advocate_limit": None},
        reward_id=reward["id"],
    )
    c.call(as_ada, "get", "/rewards")
    c.call(as_manager, "get", "/rewards", query="active=true&kind=swag")
    c.call(as_ada, "get", "/rewards/{reward_id}", reward_id=reward["id"])
    c.call(as_sales, "get", "/rewards/{reward_id}", reward_id=reward["id"])
    redemptions = [
        c.call(
            as_ada,
            "post",
            "/rewards/{reward_id}/redemptions",
            {"confirmed_cost": 100, "note": "Size M", "shipping_address": "1 Main St, Springfield"},
            reward_id=reward["id"],
            status=201,
        )
        for _ in range(3)
    ]
    c.call(as_ada, "get", "/redemptions")
    c.call(as_manager, "get", "/redemptions", query=f"status=requested&reward_id={reward['id']}")
    c.call(as_ada, "get", "/redemptions/{redemption_id}", redemption_id=redemptions[0]["id"])
    c.call(as_manager, "post", "/redemptions/{redemption_id}/approve", redemption_id=redemptions[0]["id"])
    c.call(
        as_manager,
        "post",
        "/redemptions/{redemption_id}/fulfill",
        {"note": "DHL 42"},
        redemption_id=redemptions[0]["id"],
    )
    c.call(
        as_manager,
        "post",
        "/redemptions/{redemption_id}/reject",
        {"reason": "Sold out"},
        redemption_id=redemptions[1]["id"],
    )
    c.call(as_ada, "post", "/redemptions/{redemption_id}/cancel", redemption_id=redemptions[2]["id"])
    more = [
        c.call(
            as_ada,
            "post",
            "/rewards/{reward_id}/redemptions",
            {"shipping_address": "1 Main St"},
            reward_id=reward["id"],
            status=201,
        )
        for _ in range(2)
    ]
    both = [r["id"] for r in more]
    c.call(as_manager, "post", "/redemptions/bulk", {"ids": both, "action": "approve"})
    shipped = c.call(
        as_manager,
        "post",
        "/redemptions/bulk",
        {"ids": [*both, redemptions[1]["id"]], "action": "fulfill", "note": "UPS 7"},
    )
    assert shipped["done"] == both and shipped["failed"][0]["id"] == redemptions[1]["id"]
    c.call(as_manager, "post", "/redemptions/bulk", {"ids": both, "action": "melt"}, status=422)

    # reference requests
    call = c.call(
        as_manager, "post", "/challenges", {"title": "Take a call", "type": "reference_call", "points": 300}, status=201
    )
    c.call(as_manager, "post", "/challenges/{challenge_id}/publish", challenge_id=call["id"])
    needed_by = (utcnow().date() + dt.timedelta(days=10)).isoformat()
    request_body = {
        "prospect_company": "Globex",
        "industry": "Healthcare",
        "company_size": "201-1000",
        "use_case": "Intake",
        "stage": "poc",
        "deal_size": "12000.50",
        "needed_by": needed_by,
        "format": "video",
        "topics": "rollout, security",
        "opportunity_external_id": "SF-1",
    }
    first = c.call(as_sales, "post", "/reference-requests", request_body, status=201)
    second = c.call(as_sales, "post", "/reference-requests", request_body, status=201)
    third = c.call(as_sales, "post", "/reference-requests", request_body, status=201)
    c.call(as_manager, "get", "/reference-requests/{request_id}/matches", request_id=first["id"])
    c.call(
        as_manager, "post", "/reference-requests/{request_id}/assign", {"advocate_id": ada.id}, request_id=first["id"]
    )
    c.call(as_ada, "post", "/reference-requests/{request_id}/accept", request_id=first["id"])
    c.call(
        as_sales,
        "post",
        "/reference-requests/{request_id}/feedback",
        {"rating": 5, "notes": "Great", "helped": True},
        request_id=first["id"],
    )
    c.call(
        as_manager,
        "post",
        "/reference-requests/{request_id}/assign",
        {"advocate_id": grace.id},
        request_id=second["id"],
    )
    c.call(as_grace, "post", "/reference-requests/{request_id}/decline", request_id=second["id"])
    withdrawn = c.call(as_sales, "post", "/reference-requests/{request_id}/withdraw", request_id=second["id"])
    assert withdrawn["status"] == "cancelled"
    c.call(as_sales, "post", "/reference-requests/{request_id}/withdraw", request_id=second["id"], status=409)
    c.call(
        as_manager, "post", "/reference-requests/{request_id}/unfilled", {"note": "All busy"}, request_id=third["id"]
    )
    for who in (as_sales, as_manager, as_ada):
        c.call(who, "get", "/reference-requests")
        c.call(who, "get", "/reference-requests/{request_id}", request_id=first["id"])
    c.call(as_sales, "get", "/reference-requests/{request_id}", request_id=third["id"])
    jobs.join()

    # referrals and the CRM
    referral = c.call(
        as_ada,
        "post",
        "/referrals",
        {"name": "Lead", "email": "lead@acme.example", "company": "Acme", "consent": True},
        status=201,
    )
    c.call(as_ada, "get", "/referrals")
    c.call(as_manager, "get", "/referrals", query="flagged=false")
    opportunity = {
        "external_id": 4711,
        "name": "Acme expansion",
        "account": "Acme",
        "amount": "25,000.00",
        "currency": "usd",
        "stage": "Closed Won",
        "is_closed": True,
        "is_won": True,
        "created_date": "2026-01-05",
        "contact_emails": ["lead@acme.example"],
        "referral_id": referral["id"],
        "reference_request_ids": [first["id"]],
    }
    c.call(as_owner, "post", "/crm/opportunities", opportunity, status=201)
    updated = c.call(as_owner, "post", "/crm/opportunities", opportunity | {"stage": "Won"}, status=200)
    assert (updated["external_id"], updated["amount"], updated["currency"]) == ("4711", "25000.00", "USD")
    jobs.join()
    c.call(as_manager, "get", "/crm/opportunities")
    c.call(as_ada, "get", "/me/impact")
    c.call(as_owner, "get", "/reports/attribution")
    c.call(as_owner, "get", "/reports/program", query="from=2026-01-01&to=2030-12-31")
    c.call(as_owner, "get", "/reports/program", query="from=2026-03-02&to=2026-03-01", status=422)
    for metric in ("acts", "reviews", "points_issued", "points_redeemed", "active_advocates", "asks"):
        c.call(as_owner, "get", "/reports/trends", query=f"metric={metric}&from=2025-11-01&to=2026-04-30")
    c.call(as_owner, "get", "/reports/trends", query="metric=logins", status=422)
    # issue 17: the report tables and the audit log
    c.call(as_owner, "get", "/reports/attribution", query="from=2026-01-01&to=2026-03-31")
    for table in ("challenges", "groups"):
        c.call(as_owner, "get", f"/reports/{table}", query="from=2026-01-01&to=2030-12-31")
        c.call(as_owner, "get", f"/reports/{table}", query="from=2026-03-02&to=2026-03-01", status=422)
    c.call(as_owner, "get", "/audit", query="action=settings.update&from=2020-01-01&to=2030-12-31")
    c.call(as_owner, "get", "/audit", query="from=2026-03-02&to=2026-03-01", status=422)

    # the points economy: settings, what-if, a correction, points expiring
    c.call(as_owner, "get", "/settings")
    c.call(
        as_owner,
        "post",
        "/simulations",
        {
            "tier_thresholds": {"silver": 500, "gold": 900},
            "point_value": {"amount": "0.02", "currency": "USD"},
            "points_expiry_days": 30,
            "challenge_points": [{"challenge_id": webinar["id"], "points": 80}],
        },
    )
    c.call(as_owner, "patch", "/settings", {"points_expiry_days": 365, "trust_review_threshold": 50})
    c.call(
        as_owner,
        "post",
        "/advocates/{advocate_id}/adjustments",
        {"points": 100, "memo": "Credited under the expiry policy"},
        advocate_id=grace.id,
        status=201,
    )
    assert c.call(as_grace, "get", "/advocates/{advocate_id}", advocate_id=grace.id)["expiring"]
    c.call(
        as_owner,
        "post",
        "/advocates/{advocate_id}/adjustments",
        {"points": -10, "memo": "Awarded twice by mistake", "lifetime": True},
        advocate_id=grace.id,
        status=201,
    )

    # trust and review compliance (issue 18): the score and its signals on the staff row, a signal
    # cleared with a reason, the list filtered by score, the incentive log
    from hub import trust

    before = trust.recompute_score(grace.id)
    trust.record_signal(grace.id, "repeated_answer", "journey", "The same words as completion #1.")
    trust.recompute_score(grace.id)
    db.session.commit()
    row = c.call(as_manager, "get", "/advocates/{advocate_id}", advocate_id=grace.id)
    assert row["trust"]["score"] == max(0, before - 20)
    signal = next(s for s in row["trust"]["signals"] if s["evidence"] == "The same words as completion #1.")
    assert c.call(as_grace, "get", "/advocates/{advocate_id}", advocate_id=grace.id).get("trust") is None
    assert grace.id in [a["id"] for a in c.call(as_manager, "get", "/advocates", query="trust_below=100")["items"]]
    cleared = c.call(
        as_manager,
        "post",
        "/advocates/{advocate_id}/trust-signals/{signal_id}/clear",
        {"reason": "Quoted the question on purpose"},
        advocate_id=grace.id,
        signal_id=signal["id"],
    )
    assert cleared["cleared_reason"] == "Quoted the question on purpose"
    c.call(as_owner, "get", "/reports/incentives")

    # accounts (issue 15): Ada's "Engines" and Grace's "Navy", one advocate each
    c.call(as_sales, "get", "/accounts", query="q=a&per_page=5")
    gaps = c.call(as_manager, "get", "/accounts", query="coverage=gap")["items"]
    assert {"Engines", "Navy"} <= {row["name"] for row in gaps}  # the Acme deal is closed: no gap
    c.call(as_manager, "get", "/accounts/{account_id}", account_id=ada.account_id)
    c.call(
        as_manager,
        "patch",
        "/accounts/{account_id}",
        {"name": "Engines Ltd", "domain": "engines.io"},
        account_id=ada.account_id,
    )
    c.call(
        as_manager, "patch", "/accounts/{account_id}", {"domain": "gmail.com"}, account_id=ada.account_id, status=422
    )
    c.call(as_manager, "post", "/accounts/{account_id}/merge", {"into_id": ada.account_id}, account_id=grace.account_id)
    c.call(
        as_manager,
        "post",
        "/accounts/{account_id}/merge",
        {"into_id": ada.account_id},
        account_id=ada.account_id,
        status=409,
    )
    c.call(as_manager, "post", "/advocates/{advocate_id}/persona", {"persona": "public_champion"}, advocate_id=ada.id)

    # finding advocates (issue 15): scores, candidates, nominations
    header = "email,name,company,nps,feature_adoption_pct,health_score,tenure_months,social_mentions,responded_before"
    imported = c.call(
        as_owner,
        "post",
        "/advocacy-scores/import",
        csv=f"{header}\ntop@acme.io,Top,Acme,10,80,90,24,2,yes\nbad,X,,,,,,,\n",
    )
    assert (imported["imported"], imported["errors"][0]["line"]) == (1, 3)
    c.call(as_owner, "post", "/advocacy-scores/import", {"csv": "no"}, status=422)
    top = c.call(as_manager, "get", "/candidates", query="qualified=true")["items"][0]
    c.call(as_manager, "post", "/candidates/{candidate_id}/invite", candidate_id=top["id"], status=201)
    c.call(as_manager, "post", "/candidates/{candidate_id}/invite", candidate_id=top["id"], status=409)
    # groups (issue 20): create, rename, add everyone a filter shows, delete
    group = c.call(as_manager, "post", "/groups", {"name": "Champions", "description": "Top fans"}, status=201)
    c.call(as_manager, "post", "/groups", {"name": "champions"}, status=422)
    c.call(as_manager, "patch", "/groups/{group_id}", {"name": "Champions club"}, group_id=group["id"])
    c.call(as_manager, "get", "/groups")
    added = c.call(
        as_manager, "post", "/groups/{group_id}/members", {"burnout": "healthy", "tier": "bronze"}, group_id=group["id"]
    )
    assert added["added"] >= 1
    c.call(as_manager, "get", "/advocates", query="persona=public_champion&last_active=30d&burnout=healthy")
    c.call(as_manager, "post", "/groups/{group_id}/delete", group_id=group["id"])
    c.call(as_manager, "post", "/groups/{group_id}/delete", group_id=group["id"], status=404)
    # invitations (issue 20): listed by state, resent (not within 15 minutes of the last send), revoked
    pending = c.call(as_manager, "get", "/invitations", query="state=pending")["items"]
    invitation = next(i for i in pending if i["email"] == "top@acme.io")
    c.call(as_manager, "post", "/invitations/{invite_id}/resend", invite_id=invitation["id"], status=409)
    db.session.get(Invite, invitation["id"]).sent_at = utcnow() - dt.timedelta(hours=1)
    db.session.commit()
    assert (
        c.call(as_manager, "post", "/invitations/{invite_id}/resend", invite_id=invitation["id"])["state"] == "pending"
    )
    assert (
        c.call(as_manager, "post", "/invitations/{invite_id}/revoke", invite_id=invitation["id"])["state"] == "revoked"
    )
    c.call(as_manager, "post", "/invitations/{invite_id}/revoke", invite_id=invitation["id"], status=409)
    nominee = {"email": "nominee@acme.io", "name": "Nominee", "company": "Acme", "reason": "A fan"}
    first_nomination = c.call(as_sales, "post", "/nominations", nominee, status=201)
    c.call(as_sales, "post", "/nominations", nominee, status=409)
    second_nomination = c.call(as_manager, "post", "/nominations", nominee | {"email": "n2@acme.io"}, status=201)
    c.call(as_sales, "get", "/nominations")
    c.call(as_manager, "post", "/nominations/{nomination_id}/approve", nomination_id=first_nomination["id"])
    c.call(
        as_manager,
        "post",
        "/nominations/{nomination_id}/decline",
        {"reason": "Not now"},
        nomination_id=second_nomination["id"],
    )

    # community
    question = c.call(
        as_ada, "post", "/questions", {"title": "How do you roll out?", "body": "Tips *welcome*"}, status=201
    )
    other = c.call(as_grace, "post", "/questions", {"title": "Spam spam spam", "body": "Buy now"}, status=201)
    answer = c.call(
        as_grace,
        "post",
        "/questions/{question_id}/answers",
        {"body": "In waves."},
        question_id=question["id"],
        status=201,
    )
    extra = c.call(
        as_manager,
        "post",
        "/questions/{question_id}/answers",
        {"body": "Off topic"},
        question_id=question["id"],
        status=201,
    )
    c.call(as_ada, "post", "/answers/{answer_id}/upvote", answer_id=answer["id"])
    c.call(as_ada, "post", "/answers/{answer_id}/accept", answer_id=answer["id"])
    spam = c.call(
        as_ada, "post", "/questions/{question_id}/reports", {"reason": "Spam"}, question_id=other["id"], status=201
    )
    noise = c.call(
        as_ada, "post", "/answers/{answer_id}/reports", {"reason": "Off topic"}, answer_id=extra["id"], status=201
    )
    again = c.call(
        as_ada, "post", "/answers/{answer_id}/reports", {"reason": "Again"}, answer_id=extra["id"], status=409
    )
    assert again["error"]["code"] == "invalid_state"
    assert c.call(as_manager, "get", "/post-reports")["total"] == 2
    c.call(as_manager, "post", "/post-reports/{report_id}/dismiss", report_id=noise["id"])
    c.call(as_manager, "get", "/post-reports", query="status=dismissed")
    c.call(as_manager, "post", "/answers/{answer_id}/hide", {"reason": "Off topic"}, answer_id=extra["id"])
    c.call(as_manager, "post", "/questions/{question_id}/hide", {"reason": "Spam"}, question_id=other["id"])
    assert c.call(as_manager, "get", "/post-reports", query="status=actioned")["items"][0]["id"] == spam["id"]
    for who in (as_ada, as_manager):
        c.call(who, "get", "/questions", query="filter=all&sort=top&q=roll")
        c.call(who, "get", "/questions/{question_id}", question_id=question["id"])

    # notifications
    assert c.call(as_ada, "get", "/notifications")["total"] > 0
    c.call(as_ada, "post", "/notifications/read")

    # the error shape, from the same document
    assert c.call(as_manager, "post", "/advocates", {"email": "nope", "name": ""}, status=422)["error"]["fields"]
    refused = c.call(as_manager, "post", "/advocates/imports", {"csv": "who,where\n"}, status=422)["error"]
    assert refused["fields"]["csv"][0].startswith("Missing columns: name, email.")
    c.call(as_ada, "get", "/advocates/{advocate_id}", advocate_id=grace.id, status=404)
    c.call(
        as_ada, "post", "/rewards/{reward_id}/redemptions", {"confirmed_cost": 999}, reward_id=reward["id"], status=409
    )
    c.call(as_sales, "get", "/advocates", status=403)
    c.call(api(make.user("advocate")), "get", "/challenges", query="per_page=201", status=422)

    # profiles and people admin (api.md, second release)
    assert c.call(as_ada, "patch", "/me", {"title": "CTO"})["advocate"]["title"] == "CTO"
    c.call(as_sales, "patch", "/me", {"name": "Sam Sales"})
    c.call(as_manager, "patch", "/advocates/{advocate_id}", {"region": "EMEA"}, advocate_id=grace.id)
    c.call(as_manager, "patch", "/advocates/{advocate_id}", {"company_size": "huge"}, advocate_id=grace.id, status=422)
    c.call(as_owner, "get", "/users", query="q=example&per_page=5")
    assert c.call(as_owner, "patch", "/users/{user_id}", {"role": "sales"}, user_id=manager.id)["role"] == "sales"
    c.call(as_owner, "patch", "/users/{user_id}", {"role": "manager"}, user_id=manager.id)
    c.call(as_owner, "patch", "/users/{user_id}", {"is_active": False}, user_id=owner.id, status=409)

    # privacy (api.md, second release): export, erasure by the advocate and by an owner
    exported = c.call(as_ada, "get", "/me/export")
    assert exported["profile"]["email"] == ada.user.email and exported["ledger"]
    assert c.call(as_grace, "post", "/me/erase", {"confirm": False}, status=422)["error"]["fields"]["confirm"]
    assert c.call(as_grace, "post", "/me/erase", {"confirm": True}) == {"status": "erased"}
    c.call(as_owner, "post", "/advocates/{advocate_id}/erase", {"confirm": True}, advocate_id=created["id"])
    c.call(as_manager, "post", "/advocates/{advocate_id}/erase", {"confirm": True}, advocate_id=ada.id, status=403)

    untested = {(path, method) for path, method, _ in operations(document)} - c.called
    assert not untested, f"call these in the journey: {sorted(untested)}"


def test_a_reward_changed_under_an_advocate_still_answers_as_published(document, api, make):
    """Keys written only for some viewers (an advocate's can_redeem) and nulls (unlimited stock)."""
    c = Contract(document)
    reward = Reward(name="Sticker", kind="swag", points_cost=10, stock_total=None, stock_remaining=None)
    db.session.add(reward)
    db.session.commit()
    advocate = make.advocate(points=5)
    item = c.call(api(advocate.user), "get", "/rewards/{reward_id}", reward_id=reward.id)
    assert (item["can_redeem"], item["blocked_reason"], item["stock"]) == (False, "insufficient_points", None)
    staff_view = c.call(api(make.user("manager")), "get", "/rewards/{reward_id}", reward_id=reward.id)
    assert "can_redeem" not in staff_view
