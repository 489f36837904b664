"""CRM upserts (API and CSV import), referral points exactly once, integration tokens, webhooks."""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from challenges.crm import imports, integration, webhooks
from challenges.crm.models import (
    AttributionCredit,
    CrmImport,
    DeliveryStatus,
    ImportStatus,
    Opportunity,
    WebhookDelivery,
    WebhookEndpoint,
)
from challenges.references import services
from challenges.referrals import services as referrals
from hub.errors import ValidationFailed
from hub.extensions import db
from hub.models import Notification
from rewards.models import LedgerEntry

TODAY = dt.date.today().isoformat()
OPP = {
    "external_id": "SF-1",
    "name": "Acme expansion",
    "account": "Acme",
    "amount": "25000.00",
    "currency": "USD",
    "stage": "Proposal",
    "is_closed": False,
    "is_won": False,
    "created_date": "2026-10-01",
}


@pytest.fixture()
def owner_api(make, api):
    return api(make.user("owner"))


def test_upsert_creates_then_updates(owner_api, jobs, make):
    make.advocate(company="Acme")
    created = owner_api.post("/crm/opportunities", json=OPP)
    assert created.status_code == 201, created.json
    assert created.json["amount"] == "25000.00"
    updated = owner_api.post("/crm/opportunities", json=OPP | {"stage": "Negotiation", "amount": "30000"})
    assert updated.status_code == 200 and updated.json["stage"] == "Negotiation"
    assert updated.json["id"] == created.json["id"]
    jobs.join()
    assert db.session.scalar(db.select(db.func.count()).select_from(Opportunity)) == 1
    credit = db.session.scalar(db.select(AttributionCredit))
    assert str(credit.influenced_amount) == "30000.00"  # the incremental tally ran after commit


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": "-5"}, "amount"),
        ({"amount": "1e309"}, "amount"),
        ({"amount": None}, "amount"),
        ({"amount": "NaN"}, "amount"),
        ({"amount": [1]}, "amount"),
        ({"currency": "usd1"}, "currency"),
        ({"created_date": "yesterday"}, "created_date"),
        ({"is_closed": "perhaps"}, "is_closed"),
        ({"is_won": True}, "is_won"),
        ({"external_id": ""}, "external_id"),
        ({"external_id": "x" * 65}, "external_id"),
        ({"referral_id": 12345}, "referral_id"),
        ({"referral_id": "abc"}, "referral_id"),
        ({"reference_request_ids": [99]}, "reference_request_ids"),
        ({"contact_emails": ["nope"]}, "contact_emails"),
        ({"is_closed": True, "close_date": "2026-09-01"}, "close_date"),
    ],
)
def test_bad_opportunities_are_422_and_write_nothing(owner_api, change, field):
    response = owner_api.post("/crm/opportunities", json=OPP | change)
    assert response.status_code == 422, response.json
    assert field in response.json["error"]["fields"]
    assert db.session.scalar(db.select(db.func.count()).select_from(Opportunity)) == 0


def test_only_owners_and_integration_tokens_upsert(api, make, client):
    manager = api(make.user("manager"))
    assert manager.post("/crm/opportunities", json=OPP).status_code == 403
    owner = make.user("owner")
    _, token = integration.create_integration_token(owner.id, "Salesforce", owner.id)
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/v1/crm/opportunities", json=OPP, headers=headers).status_code == 201
    assert client.get("/api/v1/me", headers=headers).status_code == 403
    assert client.get("/api/v1/reports/attribution", headers=headers).status_code == 403
    assert client.get("/api/v1/openapi.json").status_code == 200


def test_referral_points_once_when_it_becomes_an_opportunity_and_bonus_once_when_won(owner_api, make, refs, jobs):
    refs.challenge("referral", points=300, bonus_points=700)
    ada = make.advocate()
    referral = referrals.submit_referral(
        ada.id,
        referrals.parse_referral({"name": "Lead", "email": "lead@acme.example", "company": "Acme", "consent": True}),
    )
    db.session.commit()
    body = OPP | {"referral_id": referral.id}
    for _ in range(3):
        assert owner_api.post("/crm/opportunities", json=body).status_code in (200, 201)
    db.session.refresh(ada)
    assert ada.balance == 300
    for _ in range(3):
        owner_api.post(
            "/crm/opportunities",
            json=body | {"is_closed": True, "is_won": True, "close_date": TODAY, "stage": "Closed Won"},
        )
    jobs.join()
    entries = db.session.scalars(
        db.select(LedgerEntry).where(LedgerEntry.advocate_id == ada.id).order_by(LedgerEntry.id)
    ).all()
    assert [(e.delta, e.kind.value, e.source_type) for e in entries] == [
        (300, "earn", "completion"),
        (700, "bonus", "referral_won"),
    ]
    assert entries[1].source_id == str(referral.id)
    kinds = db.session.scalars(db.select(Notification.kind).where(Notification.user_id == ada.user_id)).all()
    assert kinds.count("deal_won") == 1


def test_a_referral_without_an_open_challenge_earns_nothing_but_is_sourced(owner_api, make, jobs):
    ada = make.advocate()
    referral = referrals.submit_referral(
        ada.id,
        referrals.parse_referral({"name": "Lead", "email": "lead@acme.example", "company": "Acme", "consent": True}),
    )
    db.session.commit()
    assert referral.completion_id is None and referral.no_points_reason
    owner_api.post(
        "/crm/opportunities",
        json=OPP | {"referral_id": referral.id, "is_closed": True, "is_won": True, "close_date": TODAY},
    )
    jobs.join()
    db.session.refresh(ada)
    assert ada.balance == 0
    credit = db.session.scalar(db.select(AttributionCredit).where(AttributionCredit.advocate_id == ada.id))
    assert str(credit.sourced_amount) == "25000.00"


CSV = """external_id,name,account,amount,currency,stage,is_closed,is_won,created_date,close_date,contact_emails
A-1,Deal one,Acme,100.50,USD,Proposal,false,false,2026-01-01,,a@acme.example;b@acme.example
A-2,Deal two,Globex,-3,USD,Proposal,false,false,2026-01-01,,
A-3,Deal three,Initech,200,USD,Closed Won,true,true,2026-01-01,2026-02-01,

A-4,Deal four,Acme,50,USD,Closed Won,yes,yes,2026-03-01,2026-02-01,
A-1,Deal one again,Acme,150,USD,Negotiation,false,false,2026-01-01,,
"""


def test_csv_import_reports_bad_rows_by_line_and_imports_the_rest(make, jobs, login, client):
    manager = make.user("manager")
    make.advocate(company="Acme")
    job = imports.start_import("deals.csv", CSV.encode(), manager.id)
    db.session.commit()
    jobs.join()
    db.session.expire_all()
    job = db.session.get(CrmImport, job.id)
    assert job.status is ImportStatus.DONE and job.total_rows == 5 and job.processed_rows == 5
    assert (job.created_count, job.updated_count) == (2, 1)
    assert [line for line, _ in job.errors] == [3, 6]
    assert "amount" in job.errors[0][1] and "close_date" in job.errors[1][1]
    assert db.session.scalar(db.select(Opportunity.amount).where(Opportunity.external_id == "A-1")) == 150
    login(client, manager)
    page = client.get(f"/admin/crm/imports/{job.id}/progress")
    assert page.status_code == 200 and b"5 of 5 rows (100%)" in page.data and b"every 1s" not in page.data


def test_csv_import_refuses_a_file_without_the_columns(ctx, make):
    with pytest.raises(ValidationFailed) as err:
        imports.start_import("x.csv", b"foo,bar\n1,2\n", make.user("manager").id)
    assert "Missing columns" in err.value.fields["file"][0]


class Receiver:
    """A local webhook receiver that fails the first `fail` posts."""

    def __init__(self, fail: int = 0) -> None:
        self.posts: list[tuple[dict, bytes]] = []
        self.fail = fail
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.posts.append((dict(self.headers), body))
                code = 500 if len(receiver.posts) <= receiver.fail else 204
                self.send_response(code)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def receiver(app):
    """Local receivers on 127.0.0.1, which the owner allow-listed (VOUCH_OUTBOUND_ALLOW_HOSTS)."""
    made: list[Receiver] = []
    before = app.config.get("VOUCH_OUTBOUND_ALLOW_HOSTS")
    app.config["VOUCH_OUTBOUND_ALLOW_HOSTS"] = ["127.0.0.1"]

    def build(fail: int = 0) -> Receiver:
        made.append(Receiver(fail))
        return made[-1]

    yield build
    app.config["VOUCH_OUTBOUND_ALLOW_HOSTS"] = before
    for r in made:
        r.close()


def test_webhooks_are_signed_and_sent_once_per_event(make, refs, receiver, jobs):
    hook = receiver()
    owner = make.user("owner")
    endpoint = webhooks.create_endpoint(hook.url, ["referral.created", "reference.accepted"], owner.id)
    db.session.commit()
    ada = make.advocate(name="Ada", email="ada@example.com")
    referral = referrals.submit_referral(
        ada.id,
        referrals.parse_referral({"name": "Lead", "email": "lead@acme.example", "company": "Acme", "consent": True}),
    )
    referrals.submit_referral(
        ada.id,
        referrals.parse_referral(  # flagged: no webhook
            {"name": "Lead", "email": "LEAD+x@acme.example", "company": "Acme", "consent": True}
        ),
    )
    rr = refs.request(make.user("sales"), opportunity_external_id="SF-9")
    services.assign(rr.id, ada.id, make.user("manager").id)
    services.respond(rr.id, ada.id, accept=True)
    db.session.commit()
    jobs.join()
    assert len(hook.posts) == 2
    events = {}
    for headers, body in hook.posts:
        assert webhooks.verify(endpoint.secret, headers["X-Vouch-Signature"], body.decode())
        assert not webhooks.verify("wrong-secret", headers["X-Vouch-Signature"], body.decode())
        events[headers["X-Vouch-Event"]] = json.loads(body)
    assert events["referral.created"]["data"]["referral_id"] == referral.id
    assert events["referral.created"]["data"]["email"] == "lead@acme.example"
    accepted = events["reference.accepted"]["data"]
    assert accepted["opportunity_external_id"] == "SF-9" and accepted["advocate"]["email"] == "ada@example.com"
    assert webhooks.emit("referral.created", str(referral.id), {"again": True}) == 0  # once per event
    statuses = db.session.scalars(db.select(WebhookDelivery.status)).all()
    assert statuses == [DeliveryStatus.DELIVERED, DeliveryStatus.DELIVERED]


def test_failed_deliveries_are_retried_then_failed_and_can_be_replayed(ctx, make, receiver, jobs):
    hook = receiver(fail=10)
    owner = make.user("owner")
    webhooks.create_endpoint(hook.url, ["referral.created"], owner.id)
    ada = make.advocate()
    referrals.submit_referral(
        ada.id,
        referrals.parse_referral({"name": "Lead", "email": "lead@acme.example", "company": "Acme", "consent": True}),
    )
    db.session.commit()
    jobs.join()
    delivery = db.session.scalar(db.select(WebhookDelivery))
    db.session.refresh(delivery)
    assert delivery.status is DeliveryStatus.FAILED and delivery.attempts == webhooks.MAX_ATTEMPTS
    assert delivery.last_status_code == 500 and len(hook.posts) == webhooks.MAX_ATTEMPTS
    hook.fail = 0
    webhooks.replay(delivery.id, owner.id)
    db.session.commit()
    jobs.join()
    db.session.refresh(delivery)
    assert delivery.status is DeliveryStatus.DELIVERED and delivery.replays == 1
    assert len({body for _, body in hook.posts}) == 1  # a replay sends the same body


def test_webhook_endpoints_must_be_http_and_known_events(ctx, make):
    owner = make.user("owner")
    with pytest.raises(ValidationFailed) as err:
        webhooks.create_endpoint("file:///etc/passwd", ["nope"], owner.id)
    assert set(err.value.fields) == {"url", "events"}


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:5432/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:6379/",
        "http://[::ffff:127.0.0.1]/",
        "http://10.0.0.8/hook",
        "http://0.0.0.0:8080/",
        "http://localhost:6379/",
        "https://user:pw@crm.example.com/hook",
    ],
)
def test_webhooks_to_internal_addresses_are_refused_when_saved(ctx, make, url):
    owner = make.user("owner")
    with pytest.raises(ValidationFailed) as err:
        webhooks.create_endpoint(url, ["referral.created"], owner.id)
    assert set(err.value.fields) == {"url"}
    assert db.session.scalar(db.select(db.func.count()).select_from(WebhookEndpoint)) == 0


def test_a_webhook_needs_an_event_and_a_url_is_registered_once(ctx, make):
    owner = make.user("owner")
    with pytest.raises(ValidationFailed) as err:
        webhooks.create_endpoint("https://crm.example.com/hook", [], owner.id)
    assert err.value.fields["events"] == ["Tick at least one event to send."]
    webhooks.create_endpoint("https://crm.example.com/hook", ["referral.created"], owner.id)
    db.session.commit()
    for same in ("https://crm.example.com/hook", "HTTPS://CRM.Example.com:443/hook"):
        with pytest.raises(ValidationFailed) as err:
            webhooks.create_endpoint(same, ["reference.accepted"], owner.id)
        assert err.value.fields["url"] == ["This receiver URL is already registered."]
    assert db.session.scalars(db.select(WebhookEndpoint.url)).all() == ["https://crm.example.com/hook"]


def test_the_console_refuses_internal_duplicate_and_eventless_webhooks(app, make, login):
    owner = make.user("owner")
    browser = login(app.test_client(), owner)
    internal = browser.post(
        "/admin/crm/webhooks", data={"url": "http://169.254.169.254/latest/meta-data/", "referral_created": "y"}
    )
    assert internal.status_code == 422 and b"private or reserved address" in internal.data
    eventless = browser.post("/admin/crm/webhooks", data={"url": "https://crm.example.com/hook"})
    assert eventless.status_code == 422 and b"Tick at least one event" in eventless.data
    assert (
        browser.post(
            "/admin/crm/webhooks", data={"url": "https://crm.example.com/hook", "referral_created": "y"}
        ).status_code
        == 200
    )
    again = browser.post("/admin/crm/webhooks", data={"url": "https://crm.example.com/hook", "reference_accepted": "y"})
    assert again.status_code == 422 and b"already registered" in again.data
    assert db.session.scalar(db.select(db.func.count()).select_from(WebhookEndpoint)) == 1


def test_a_name_resolving_inside_is_refused_at_connect_and_nothing_is_sent(app, ctx, make, jobs, monkeypatch):
    """The receiver's name looked public when saved; when the job connects it resolves to
    127.0.0.1 (a DNS change): refused, failed without retries, not a byte sent."""
    import socket

    hook = Receiver()
    real_getaddrinfo = socket.getaddrinfo
    connections: list[tuple] = []
    real_create_connection = socket.create_connection

    def fake_getaddrinfo(host, port, *args, **kwargs):
        if host == "crm.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    def recording_create_connection(address, *args, **kwargs):
        connections.append(address)
        return real_create_connection(address, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    monkeypatch.setattr(socket, "create_connection", recording_create_connection)
    try:
        owner = make.user("owner")
        url = f"http://crm.example.com:{hook.server.server_port}/hook"
        webhooks.create_endpoint(url, ["referral.created"], owner.id)
        ada = make.advocate()
        referrals.submit_referral(
            ada.id,
            referrals.parse_referral(
                {"name": "Lead", "email": "lead@acme.example", "company": "Acme", "consent": True}
            ),
        )
        db.session.commit()
        jobs.join()
        delivery = db.session.scalar(db.select(WebhookDelivery))
        db.session.refresh(delivery)
        assert delivery.status is DeliveryStatus.FAILED and delivery.attempts == 1
        assert delivery.last_error.startswith("Refused:") and "private" in delivery.last_error
        assert hook.posts == [] and connections == []
    finally:
        hook.close()


def test_the_crm_verifier_approves_once_an_opportunity_names_the_referral(make, refs):
    from types import SimpleNamespace

    from challenges import verifiers

    refs.challenge("referral", points=300)
    ada = make.advocate()
    referral = referrals.submit_referral(
        ada.id,
        referrals.parse_referral({"name": "Lead", "email": "lead@acme.example", "company": "Acme", "consent": True}),
    )
    db.session.commit()
    referral_id, evidence = referral.id, SimpleNamespace(completion_id=referral.completion_id)
    assert verifiers.run(evidence, "crm").decision == "review"  # (it ends this thread's session, as a job does)
    refs.opportunity(external_id="SF-V", referral_id=referral_id)
    verdict = verifiers.run(evidence, "crm")
    assert verdict.decision == "approve" and "SF-V" in verdict.note


def test_cli_tallies_from_scratch(app, make, refs):
    make.advocate(company="Acme")
    refs.opportunity(account="Acme")
    result = app.test_cli_runner().invoke(args=["challenges", "tally-attribution", "--full"])
    assert result.exit_code == 0, result.output
    assert "1 touches, 1 credits" in result.output
    assert app.test_cli_runner().invoke(args=["challenges", "tally-attribution"]).exit_code != 0


def test_crm_award_emails_are_sent_by_their_first_job(owner_api, make, refs, jobs):
    """A won deal from the CRM awards the referral bonus (ledger savepoint) and emails it: the
    email's first send job finds its committed row and sends it — nothing waits for a drain."""
    from hub.email.models import EmailStatus, OutboxEmail

    refs.challenge("referral", points=300, bonus_points=700)
    ada = make.advocate()
    referral = referrals.submit_referral(
        ada.id,
        referrals.parse_referral({"name": "Lead", "email": "lead@acme.example", "company": "Acme", "consent": True}),
    )
    db.session.commit()
    jobs.join()
    won = {
        "external_id": "SF-77",
        "name": "Acme expansion",
        "account": "Acme",
        "amount": "25000.00",
        "currency": "USD",
        "stage": "Closed Won",
        "is_closed": True,
        "is_won": True,
        "created_date": "2026-10-01",
        "close_date": TODAY,
        "referral_id": referral.id,
    }
    assert owner_api.post("/crm/opportunities", json=won).status_code == 201
    jobs.join()
    db.session.expire_all()
    emails = db.session.scalars(db.select(OutboxEmail).where(OutboxEmail.to_address == ada.user.email)).all()
    # The approval (+300), the tier and the badges it earned: all emailed from the CRM request.
    assert any("+300 points" in e.subject for e in emails), [e.subject for e in emails]
    assert [(e.status, e.attempts) for e in emails] == [(EmailStatus.SENT, 1)] * len(emails)
