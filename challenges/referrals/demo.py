"""A demo referral: Ada refers a peer (for `hub seed-demo`)."""

from __future__ import annotations

from challenges.references.demo import demo_advocate
from challenges.referrals import services as referrals


def seed_demo_referrals() -> str:
    """Ada's referral of Pat Peer, whom the demo CRM later turns into an opportunity."""
    ada = demo_advocate("ada@example.com")
    if ada is None:
        return ""
    referrals.submit_referral(
        ada.id,
        referrals.parse_referral(
            {
                "name": "Pat Peer",
                "email": "pat@peerco.example",
                "company": "Peer Co",
                "title": "CTO",
                "notes": "Evaluating analytics tools this quarter.",
                "consent": True,
            }
        ),
    )
    return "1 referral"
