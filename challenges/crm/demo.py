"""Demo CRM opportunities — one sourced by the demo referral, one influenced by Grace's reference
call, a won and a lost deal — the program cost, and their attribution (for `hub seed-demo`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from challenges.crm import attribution, opportunities
from challenges.crm.models import Opportunity
from challenges.referrals.models import Referral
from hub.db import utcnow
from hub.extensions import db
from hub.settings import save_setting


def seed_demo_crm() -> str:
    """Four opportunities through the upsert, then the tally and the won-deal thank-yous."""
    referral_id = db.session.scalar(select(Referral.id).where(Referral.email == "pat@peerco.example").limit(1))
    if referral_id is None:
        return ""
    today = utcnow().date()
    rows: tuple[dict[str, Any], ...] = (
        {
            "external_id": "DEMO-PEER",
            "name": "Peer Co platform",
            "account": "Peer Co",
            "amount": "45000",
            "stage": "Proposal",
            "referral_id": referral_id,
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
    )
    for data in rows:
        data = data | {"currency": "USD", "created_date": data["created_date"].isoformat()}
        if "close_date" in data:
            data["close_date"] = data["close_date"].isoformat()
        opportunities.upsert_opportunity(opportunities.parse_opportunity(data), tally=False)
    save_setting("program_cost", {"amount": "25000.00", "currency": "USD"}, None)
    attribution.tally(None)
    db.session.flush()
    ids = list(db.session.scalars(select(Opportunity.id)))
    attribution.thank_for_won_deals(ids)
    return "4 CRM opportunities"
