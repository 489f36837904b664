"""hub's JSON routes (api.md): the caller, and advocates (create, list, one)."""

from __future__ import annotations

from flask import request
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from hub import accounts
from hub.endpoints import api_blueprint, endpoint, page_args, paginated
from hub.errors import NotFound
from hub.extensions import db
from hub.hooks import hooks
from hub.models import ALL_ROLES, STAFF_ROLES, Advocate, Group, Role, User, advocate_groups
from hub.validation import Fields, iso

bp = api_blueprint("api")


def advocate_json(advocate: Advocate, facts: dict | None = None) -> dict:
    """The api.md advocate object. Lists pass the `facts` (hub.hooks) fetched for the whole page."""
    facts = facts if facts is not None else hooks().advocate_facts([advocate.id])[advocate.id]
    return {
        "id": advocate.id,
        "user_id": advocate.user_id,
        "name": advocate.user.name,
        "email": advocate.user.email,
        "title": advocate.title,
        "company": advocate.company,
        "industry": advocate.industry,
        "company_size": advocate.company_size,
        "region": advocate.region,
        "groups": sorted(g.name for g in advocate.groups),
        "tier": str(advocate.tier),
        "lifetime_points": advocate.lifetime_points,
        "balance": advocate.balance,
        "badges": facts.get("badges", []),
        "asks_last_365": facts.get("asks_last_365", 0),
        "burnout": facts.get("burnout", "healthy"),
        "joined_at": iso(advocate.joined_at),
        "last_activity_at": iso(advocate.last_activity_at),
    }


def advocate_for(user: User, advocate_id: int) -> Advocate:
    """The advocate if `user` may see it (staff, or the advocate themself); else 404."""
    advocate = db.session.get(Advocate, advocate_id)
    if advocate is None or advocate.is_erased:
        raise NotFound("Advocate not found.")
    if user.role in STAFF_ROLES or advocate.user_id == user.id:
        return advocate
    raise NotFound("Advocate not found.")


ADVOCATE_BODY = {
    "type": "object",
    "required": ["email", "name"],
    "properties": {
        "email": {"type": "string", "format": "email", "maxLength": 254},
        "name": {"type": "string", "maxLength": 120},
        "title": {"type": "string", "maxLength": 120},
        "company": {"type": "string", "maxLength": 160},
        "industry": {"type": "string", "maxLength": 80},
        "company_size": {"type": "string", "enum": ["1-50", "51-200", "201-1000", "1001-5000", "5000+"]},
        "region": {"type": "string", "maxLength": 80},
        "groups": {"type": "array", "items": {"type": "string", "maxLength": 80}},
    },
}


@endpoint(bp, "/me", roles=ALL_ROLES, summary="The caller, with their advocate profile")
def me(user: User) -> dict:
    payload = {"id": user.id, "email": user.email, "name": user.name, "role": str(user.role)}
    if user.role is Role.ADVOCATE and user.advocate is not None:
        payload["advocate"] = advocate_json(user.advocate)
    return payload


@endpoint(
    bp,
    "/advocates",
    "POST",
    roles=STAFF_ROLES,
    summary="Create an advocate",
    status=201,
    body=ADVOCATE_BODY,
    idempotent=True,
)
def create_advocate(user: User, data: dict) -> tuple[dict, int]:
    profile = accounts.clean_profile(data)
    advocate = accounts.create_advocate(profile, user.id)
    return advocate_json(advocate), 201


@endpoint(
    bp,
    "/advocates",
    roles=STAFF_ROLES,
    summary="List advocates",
    query={"tier": "string", "group": "string", "q": "string", "page": "integer", "per_page": "integer"},
)
def list_advocates(user: User) -> dict:
    page, per_page = page_args()
    f = Fields(request.args)
    tier = f.choice("tier", ["bronze", "silver", "gold"])
    group = f.str("group", max_length=80)
    q = f.str("q", max_length=100)
    f.done()
    query = select(Advocate).join(User, User.id == Advocate.user_id).where(Advocate.is_erased.is_(False))
    if tier:
        query = query.where(Advocate.tier == tier)
    if group:
        query = (
            query.join(advocate_groups, advocate_groups.c.advocate_id == Advocate.id)
            .join(Group, Group.id == advocate_groups.c.group_id)
            .where(func.lower(Group.name) == group.lower())
        )
    if q:
        like = f"%{q.lower()}%"
        query = query.where(
            or_(
                func.lower(User.name).like(like),
                func.lower(User.email).like(like),
                func.lower(Advocate.company).like(like),
            )
        )
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    advocates = db.session.scalars(
        query.options(selectinload(Advocate.user), selectinload(Advocate.groups))
        .order_by(Advocate.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    facts = hooks().advocate_facts([a.id for a in advocates])
    return paginated([advocate_json(a, facts[a.id]) for a in advocates], page, per_page, total)


@endpoint(bp, "/advocates/<int:advocate_id>", roles=ALL_ROLES - {Role.SALES}, summary="One advocate")
def get_advocate(user: User, advocate_id: int) -> dict:
    return advocate_json(advocate_for(user, advocate_id))
