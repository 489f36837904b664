"""A delivery transaction's messages share one SMTP connection (issue 22, "Workers"), and a
failure on it never becomes another message's: the next one goes out on a fresh connection."""

from __future__ import annotations

import pytest
from aiosmtpd.controller import Controller

from hub.email import sending
from hub.email.models import EmailStatus, OutboxEmail
from hub.extensions import db
from tests.support.network import free_port
from tests.support.smtp import SmtpRecorder

# The tests commit: their tables are emptied afterwards.
pytestmark = pytest.mark.multi_connection


class PeerRecorder(SmtpRecorder):
    """Records, for each DATA, the client's (address, port): one port per connection."""

    def __init__(self, refuse: set[str] | None = None) -> None:
        super().__init__()
        self.peers: list[tuple[str, int]] = []
        self.refuse = refuse or set()

    async def handle_DATA(self, server, session, envelope) -> str:
        self.peers.append(session.peer)
        if any(rcpt in self.refuse for rcpt in envelope.rcpt_tos):
            return "451 4.3.0 Try again later"
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture()
def recorded(app, ctx, monkeypatch):
    def start(refuse: set[str] | None = None) -> PeerRecorder:
        recorder = PeerRecorder(refuse)
        port = free_port()
        controller = Controller(recorder, hostname="127.0.0.1", port=port)
        controller.start()
        started.append(controller)
        monkeypatch.setitem(app.config, "SMTP_URL", f"smtp://127.0.0.1:{port}")
        return recorder

    started: list[Controller] = []
    yield start
    for controller in started:
        controller.stop()


def _queued(*addresses: str) -> list[int]:
    rows = [
        OutboxEmail(
            to_address=address,
            subject=f"Hello {n}",
            body_text="Body",
            kind="test",
            status=EmailStatus.QUEUED.value,
            attempts=0,
        )
        for n, address in enumerate(addresses)
    ]
    db.session.add_all(rows)
    db.session.commit()
    return [row.id for row in rows]


def test_a_transactions_messages_go_out_on_one_connection(recorded):
    server = recorded()
    ids = _queued("ada@example.com", "bob@example.com", "cy@example.com")
    assert set(sending.attempt_deliveries(ids).values()) == {"sent"}
    db.session.commit()
    assert sorted(str(m["To"]) for m in server.messages) == ["ada@example.com", "bob@example.com", "cy@example.com"]
    assert len(set(server.peers)) == 1  # one connection for the three
    ids = _queued("dee@example.com")
    assert sending.attempt_deliveries(ids) == {ids[0]: "sent"}
    assert len(set(server.peers)) == 2  # the next transaction opens its own


def test_a_failure_closes_the_connection_and_the_next_message_is_sent_on_a_fresh_one(recorded):
    server = recorded(refuse={"bob@example.com"})
    ids = _queued("ada@example.com", "bob@example.com", "cy@example.com")
    outcomes = sending.attempt_deliveries(ids)
    db.session.commit()
    assert outcomes == {ids[0]: "sent", ids[1]: "retry", ids[2]: "sent"}
    assert [str(m["To"]) for m in server.messages] == ["ada@example.com", "cy@example.com"]
    first, refused, after = server.peers
    assert first == refused and after != refused
    assert db.session.get(OutboxEmail, ids[1]).status == EmailStatus.QUEUED.value


def test_outside_a_delivery_transaction_each_message_has_its_connection(recorded):
    server = recorded()
    for message_id in _queued("ada@example.com", "bob@example.com"):
        assert sending.attempt_delivery(message_id) == "sent"
    db.session.commit()
    assert len(set(server.peers)) == 2


def _comparable(mime) -> bytes:
    """The message's bytes without what differs on every build: Date, Message-ID, MIME boundaries."""
    raw = mime.as_bytes()
    for boundary in {part.get_boundary() for part in mime.walk() if part.get_boundary()}:
        raw = raw.replace(boundary.encode(), b"BOUNDARY")
    return b"\n".join(line for line in raw.split(b"\n") if not line.startswith((b"Date:", b"Message-ID:")))


def test_headers_parsed_once_build_the_same_bytes_as_the_default_policy(app, ctx, monkeypatch):
    import email.policy

    rows = [
        OutboxEmail(
            id=n,
            to_address=address,
            subject=subject,
            body_text=f"Hello {n}\nLine two",
            body_html=f"<p>Hello {n}</p>" if n % 2 else None,
            kind="test",
            unsubscribe_url=f"https://vouch.example/unsubscribe/{n}" if n % 2 else None,
        )
        for n, (address, subject) in enumerate(
            [
                ("ada@example.com", "+25 points — “Review us” was approved. Thank you!"),
                ("ana@bücher.example", "Plain subject"),
                ("bob@example.com", "A subject long enough to be folded over two lines by the policy " * 2),
            ],
            start=1,
        )
    ]
    kept = [_comparable(sending.build_mime(row)) for row in rows for _ in range(2)]  # the second from the cache
    monkeypatch.setattr(sending, "_POLICY", email.policy.default)
    plain = [_comparable(sending.build_mime(row)) for row in rows for _ in range(2)]
    assert kept == plain
    assert b"ana@xn--bcher-kva.example" in kept[2]
