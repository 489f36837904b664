"""Fixtures for the references tests: challenges, sales users, requests and opportunities."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import pytest


class Refs:
    """Creates committed rows for references, referrals and the CRM (any app context)."""

    def __init__(self, make) -> None:
        self.make = make

    def challenge(self, type_: str, points: int = 200, bonus_points: int = 0, **overrides: Any):
        from challenges import services
        from hub.extensions import db

        data = {
            "title": f"{type_.replace('_', ' ').title()} challenge",
            "type": type_,
            "description": "Help us out.",
            "points": points,
            "bonus_points": bonus_points,
            "max_per_advocate": 20,
        } | overrides
        challenge = services.create_challenge(services.clean_challenge(data), None)
        services.publish_challenge(challenge.id, None)
        db.session.commit()
        return challenge

    def request(self, sales_user, **overrides: Any):
        from challenges.references import services
        from hub.extensions import db

        data = {
            "prospect_company": "Prospect Inc",
            "industry": "Healthcare",
            "company_size": "201-1000",
            "region": "EMEA",
            "use_case": "Patient intake",
            "stage": "evaluation",
            "deal_size": "48000",
            "currency": "USD",
            "needed_by": (dt.date.today() + dt.timedelta(days=14)).isoformat(),
            "format": "video",
            "topics": ["security"],
        } | overrides
        rr = services.file_request(sales_user.id, services.parse_request(data))
        db.session.commit()
        return rr

    def opportunity(self, **overrides: Any):
        from challenges.crm import opportunities
        from hub.extensions import db

        data = {
            "external_id": f"opp-{secrets.token_hex(4)}",
            "name": "New deal",
            "account": "Acme",
            "amount": "1000.00",
            "currency": "USD",
            "stage": "Discovery",
            "is_closed": False,
            "is_won": False,
            "created_date": "2026-01-05",
        } | overrides
        result = opportunities.upsert_opportunity(opportunities.parse_opportunity(data), tally=False)
        db.session.commit()
        return result.opportunity


@pytest.fixture()
def refs(ctx, make) -> Refs:
    return Refs(make)
