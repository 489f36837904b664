"""A demo referral: an advocate refers a peer (for `hub seed-demo`)."""

from __future__ import annotations

from challenges.references.demo import demo_advocate
from challenges.referrals import services as referrals

# Ada first; the referral form is locked for an advocate a cap protects (issue 12 item 7), and the
# demo gives Ada a medium-effort completion, so the next demo advocate who may refer sends it.
REFERRERS = ("ada@example.com", "linus@example.com", "tim@example.com", "donald@example.com")


def seed_demo_referrals() -> str:
    """A referral of Pat Peer, whom the demo CRM later turns into an opportunity."""
    for email in REFERRERS:
        advocate = demo_advocate(email)
        if advocate is None:
            continue
        offer = referrals.open_referral_challenge(advocate.id)
        if offer is not None and offer.form_locked:
            continue
        referrals.submit_referral(
            advocate.id,
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
        return f"1 referral (by {advocate.user.name})"
    return ""
