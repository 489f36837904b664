"""Helpers for the privacy tests: an advocate with data in every package's tables, and a scan of
every text value in the database (what an erasure must have removed)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import String, Text, select
from sqlalchemy.types import JSON


@dataclass
class Footprint:
    """The personal strings an advocate left behind (each unique, so a scan can find them)."""

    advocate_id: int
    user_id: int
    email: str
    name: str
    company: str
    evidence: str
    evidence_url: str
    referral_email: str
    shipping_note: str
    memo: str
    question_title: str


def leave_footprint(advocate, tag: str = "zq") -> Footprint:
    """Give `advocate` rows in every table that references a person: a session, a token, a
    pending completion with evidence, an approved one (ledger, badge), a referral with contact
    data, a redemption with a shipping note, a question and an answer, a notification, a manual
    adjustment with a memo, a reference ask. Committed; call inside an app context."""
    from challenges import services as challenge_services
    from challenges.models import Ask, AskKind
    from challenges.references.models import ReferenceAssignment, ReferenceRequest
    from challenges.referrals import services as referrals
    from hub import accounts, tokens
    from hub.community import services as community
    from hub.extensions import db
    from hub.models import User
    from hub.notifications import notify
    from rewards import catalog
    from rewards.ledger import post_entry
    from rewards.services import redemptions

    user = db.session.get(User, advocate.user_id)
    accounts.start_session(user, "127.0.0.1", "pytest")
    tokens.create_api_token(user, f"token-{tag}", user.id)
    advocate.company = f"Company-{tag}"
    post_entry(advocate.id, 500, kind="earn", source_type="test", source_id=f"fp-{tag}", memo=f"Memo-{tag}")

    manual = challenge_services.create_challenge(
        challenge_services.clean_challenge(
            {"title": f"Tell us {tag}", "type": "custom", "description": "Tell us.", "points": 50}
        ),
        None,
    )
    challenge_services.publish_challenge(manual.id, None)
    pending = challenge_services.submit_completion(
        manual.id, advocate.id, {"evidence_url": f"https://example.com/{tag}-url", "evidence_text": f"Evidence-{tag}"}
    )
    db.session.flush()
    assert pending.status.value in ("submitted", "verifying", "pending_review")

    referrals.submit_referral(
        advocate.id,
        referrals.parse_referral(
            {"name": f"Peer {tag}", "email": f"peer-{tag}@example.org", "company": "Peer Co", "consent": True}
        ),
    )
    reward_id = catalog.create_reward(
        catalog.read_reward_input(
            {"name": "Hoodie", "kind": "swag", "points_cost": 100, "needs_shipping": False}, partial=False
        ),
        None,
    ).id
    redemptions.redeem_reward(advocate.id, reward_id, note=f"Ship to Street-{tag}")
    question = community.ask_question(user, f"Question-{tag} about exports", "How do I export data?")
    community.post_answer(user, question.id, f"Answer body {tag}")
    notify(user.id, "points", f"Hello {user.name}", None, email=False)

    request = ReferenceRequest(
        requested_by_id=user.id,
        prospect_company="Prospect Inc",
        industry="Software",
        company_size="51-200",
        use_case="Analytics",
        stage="evaluation",
        needed_by=__import__("datetime").date(2027, 1, 1),
        format="phone",
        advocate_id=advocate.id,
    )
    db.session.add(request)
    db.session.flush()
    db.session.add(ReferenceAssignment(request_id=request.id, advocate_id=advocate.id))
    db.session.add(Ask(advocate_id=advocate.id, kind=AskKind.REFERENCE_CALL, source_type="test", source_id=tag))
    db.session.commit()
    return Footprint(
        advocate_id=advocate.id,
        user_id=user.id,
        email=user.email,
        name=user.name,
        company=f"Company-{tag}",
        evidence=f"Evidence-{tag}",
        evidence_url=f"https://example.com/{tag}-url",
        referral_email=f"peer-{tag}@example.org",
        shipping_note=f"Street-{tag}",
        memo=f"Memo-{tag}",
        question_title=f"Question-{tag}",
    )


def every_text_value() -> list[tuple[str, str, str]]:
    """(table, column, value) for every text or JSON value in every table."""
    from hub.extensions import db

    found = []
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, (String, Text, JSON))]
        if not columns:
            continue
        for row in db.session.execute(select(*columns)):
            for column, value in zip(columns, row, strict=True):
                if value is not None:
                    found.append((table.name, column.name, str(value)))
    return found


def where_found(needle: str, allowed: set[str] = frozenset()) -> list[tuple[str, str]]:
    """The (table, column) pairs holding `needle`, except those in `allowed` ("table.column")."""
    return sorted(
        {(t, c) for t, c, v in every_text_value() if needle.lower() in v.lower() and f"{t}.{c}" not in allowed}
    )
