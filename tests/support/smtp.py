"""A real SMTP server's handler for the mail tests (aiosmtpd): records what it accepts."""

from __future__ import annotations

import email
import email.policy
import threading
from dataclasses import dataclass, field


@dataclass
class SmtpRecorder:
    """An aiosmtpd handler: stores accepted messages, or answers every DATA with `reply`."""

    messages: list[email.message.EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)  # each accepted message's RCPT TO
    reply: str | None = None
    data_commands: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope) -> str:
        with self.lock:
            self.data_commands += 1
            if self.reply:
                return self.reply
            self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
            self.recipients.append(list(envelope.rcpt_tos))
        return "250 2.0.0 OK"


@dataclass
class SmtpServer:
    recorder: SmtpRecorder
    url: str
