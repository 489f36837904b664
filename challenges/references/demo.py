"""Demo reference requests: an open one, and one asked, accepted and given feedback (for
`hub seed-demo`, after the demo challenges exist)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from challenges.references import services
from hub.db import utcnow
from hub.extensions import db
from hub.models import Advocate, Role, User


def demo_advocate(email: str) -> Advocate | None:
    """A demo advocate by email (hub.demo), or None when the demo accounts are not there."""
    return db.session.scalar(select(Advocate).join(User, User.id == Advocate.user_id).where(User.email == email))


def seed_demo_references() -> str:
    """An open and a completed reference request (Grace took the call)."""
    sales = db.session.scalar(select(User).where(User.role == Role.SALES).limit(1))
    manager = db.session.scalar(select(User).where(User.role == Role.MANAGER).limit(1))
    grace = demo_advocate("grace@example.com")
    if sales is None or manager is None or grace is None:
        return ""
    soon = (utcnow() + dt.timedelta(days=12)).date().isoformat()
    services.file_request(
        sales.id,
        services.parse_request(
            {
                "prospect_company": "Initech",
                "industry": "Software",
                "company_size": "201-1000",
                "region": "EMEA",
                "use_case": "Usage analytics",
                "stage": "evaluation",
                "deal_size": "36000",
                "currency": "USD",
                "needed_by": soon,
                "format": "video",
                "topics": ["rollout", "support"],
            }
        ),
    )
    globex = services.file_request(
        sales.id,
        services.parse_request(
            {
                "prospect_company": "Globex",
                "industry": "Government",
                "company_size": "5000+",
                "region": "NA",
                "use_case": "Compliance reporting",
                "stage": "negotiation",
                "deal_size": "120000",
                "currency": "USD",
                "needed_by": soon,
                "format": "phone",
                "opportunity_external_id": "DEMO-GLOBEX",
            }
        ),
    )
    services.assign(globex.id, grace.id, manager.id)
    services.respond(globex.id, grace.id, accept=True)
    services.give_feedback(globex.id, sales, services.FeedbackInput(5, "Grace sealed it.", True))
    return "2 reference requests"
