"""Demo references, referrals and CRM opportunities (after the demo challenges exist)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from challenges import attribution
from challenges.references import crm, referrals, services
from hub.db import utcnow
from hub.extensions import db
from hub.models import Advocate, Role, User
from hub.settings import save_setting


def _advocate(email: str) -> Advocate | None:
    return db.session.scalar(select(Advocate).join(User, User.id == Advocate.user_id).where(User.email == email))


def seed_demo_references() -> str:
    """An open and a completed reference request, a referral, four opportunities, the tally."""
    sales = db.session.scalar(select(User).where(User.role == Role.SALES).limit(1))
    manager = db.session.scalar(select(User).where(User.role == Role.MANAGER).limit(1))
    ada, grace = _advocate("ada@example.com"), _advocate("grace@example.com")
    if sales is None or manager is None or ada is None or grace is None:
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
    referral = referrals.submit_referral(
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
    today = utcnow().date()
    for data in (
        {
            "external_id": "DEMO-PEER",
            "name": "Peer Co platform",
            "account": "Peer Co",
            "amount": "45000",
            "stage": "Proposal",
            "referral_id": referral.id,
            "created_date": today - dt.timedelta(days=20),
        },
        {
            "external_id": "DEMO-GLOBEX",
            "name": "Globex compliance",
            "account": "Globex",
            "amount": "120000",
            "stage": "Closed Won",
            "is_closed": True,
            "is_won": True,
            "created_date": today - dt.timedelta(days=75),
            "close_date": today,
        },
        {
            "external_id": "DEMO-ENGINES",
            "name": "Analytical Engines expansion",
            "account": "Analytical Engines",
            "amount": "18500.50",
            "stage": "Closed Won",
            "is_closed": True,
            "is_won": True,
            "created_date": today - dt.timedelta(days=120),
            "close_date": today - dt.timedelta(days=30),
        },
        {
            "external_id": "DEMO-KERNEL",
            "name": "Kernel Co seats",
            "account": "Kernel Co",
            "amount": "9000",
            "stage": "Closed Lost",
            "is_closed": True,
            "is_won": False,
            "created_date": today - dt.timedelta(days=90),
            "close_date": today - dt.timedelta(days=10),
        },
    ):
        data = data | {"currency": "USD", "created_date": data["created_date"].isoformat()}
        if "close_date" in data:
            data["close_date"] = data["close_date"].isoformat()
        crm.upsert_opportunity(crm.parse_opportunity(data), tally=False)
    save_setting("program_cost", {"amount": "25000.00", "currency": "USD"}, None)
    attribution.tally(None)
    db.session.flush()
    ids = list(db.session.scalars(select(crm.Opportunity.id)))
    attribution.thank_for_won_deals(ids)
    return "2 reference requests, 1 referral, 4 CRM opportunities"
