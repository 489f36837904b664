"""hub's JSON routes (api.md): the caller, advocates (create, list, one), advocates imports, and
the caller's data (export, erasure; an owner's erasure on an emailed request)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from hub import accounts, imports, privacy
from hub.accounts import AdvocateProfile
from hub.contracts import (
    AdvocateImportBody,
    AdvocateImportReply,
    AdvocateListQuery,
    AdvocatePage,
    AdvocateReply,
    EraseBody,
    EraseReply,
    ExportReply,
    ImportProblem,
    MeReply,
)
from hub.csv_files import problems_json
from hub.endpoints import api_blueprint, endpoint
from hub.errors import NotFound, ValidationFailed
from hub.extensions import db
from hub.hooks import hooks
from hub.models import ALL_ROLES, STAFF_ROLES, Advocate, Group, Role, User, advocate_groups
from hub.search import contains_text

bp = api_blueprint("api")


def advocate_reply(advocate: Advocate, facts: dict | None = None) -> AdvocateReply:
    """The api.md advocate object. Lists pass the `facts` (hub.hooks) fetched for the whole page."""
    facts = facts if facts is not None else hooks().advocate_facts([advocate.id])[advocate.id]
    return AdvocateReply(
        id=advocate.id,
        user_id=advocate.user_id,
        name=advocate.user.name,
        email=advocate.user.email,
        title=advocate.title,
        company=advocate.company,
        industry=advocate.industry,
        company_size=advocate.company_size,
        region=advocate.region,
        time_zone=advocate.time_zone,
        groups=sorted(g.name for g in advocate.groups),
        tier=advocate.tier,
        lifetime_points=advocate.lifetime_points,
        balance=advocate.balance,
        badges=facts.get("badges", []),
        asks_last_365=facts.get("asks_last_365", 0),
        burnout=facts.get("burnout", "healthy"),
        expiring=facts.get("expiring", []),
        joined_at=advocate.joined_at,
        last_activity_at=advocate.last_activity_at,
        persona=advocate.persona,
        account_id=advocate.account_id,
    )


def advocate_for(user: User, advocate_id: int) -> Advocate:
    """The advocate if `user` may see it (staff, or the advocate themself); else 404."""
    advocate = db.session.get(Advocate, advocate_id)
    if advocate is None or advocate.is_erased:
        raise NotFound("Advocate not found.")
    if user.role in STAFF_ROLES or advocate.user_id == user.id:
        return advocate
    raise NotFound("Advocate not found.")


@endpoint(bp, "/me", roles=ALL_ROLES, summary="The caller, with their advocate profile", reply=MeReply)
def me(user: User) -> MeReply:
    return me_reply(user)


def me_reply(user: User) -> MeReply:
    """api.md's caller: `{id, email, name, role}` plus the advocate object for advocates."""
    reply = MeReply(id=user.id, email=user.email, name=user.name, role=user.role)
    if user.role is Role.ADVOCATE and user.advocate is not None:
        reply.advocate = advocate_reply(user.advocate)
    return reply


@endpoint(
    bp,
    "/advocates",
    "POST",
    roles=STAFF_ROLES,
    summary="Create an advocate",
    status=201,
    body=AdvocateProfile,
    reply=AdvocateReply,
    idempotent=True,
)
def create_advocate(user: User, data: AdvocateProfile) -> tuple[AdvocateReply, int]:
    advocate = accounts.create_advocate(data, user.id)
    return for_staff(advocate_reply(advocate), advocate), 201


@endpoint(
    bp,
    "/advocates",
    roles=STAFF_ROLES,
    summary="List advocates",
    query=AdvocateListQuery,
    reply=AdvocatePage,
)
def list_advocates(user: User, args: AdvocateListQuery) -> AdvocatePage:
    query = select(Advocate).join(User, User.id == Advocate.user_id).where(Advocate.is_erased.is_(False))
    if args.tier:
        query = query.where(Advocate.tier == args.tier)
    if args.group:
        query = (
            query.join(advocate_groups, advocate_groups.c.advocate_id == Advocate.id)
            .join(Group, Group.id == advocate_groups.c.group_id)
            .where(func.lower(Group.name) == args.group.lower())
        )
    if args.q:
        query = query.where(contains_text(args.q, User.name, User.email, Advocate.company))
    total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    advocates = db.session.scalars(
        query.options(selectinload(Advocate.user), selectinload(Advocate.groups))
        .order_by(Advocate.id)
        .limit(args.per_page)
        .offset(args.offset)
    ).all()
    facts = hooks().advocate_facts([a.id for a in advocates])
    return AdvocatePage.of([for_staff(advocate_reply(a, facts[a.id]), a) for a in advocates], args, total)


def for_staff(reply: AdvocateReply, advocate: Advocate) -> AdvocateReply:
    """What only staff see on an advocate: whether their user is active (issue 14)."""
    reply.is_active = advocate.user.is_active_user
    return reply


@endpoint(
    bp, "/advocates/<int:advocate_id>", roles=ALL_ROLES - {Role.SALES}, summary="One advocate", reply=AdvocateReply
)
def get_advocate(user: User, advocate_id: int) -> AdvocateReply:
    advocate = advocate_for(user, advocate_id)
    reply = advocate_reply(advocate)
    return for_staff(reply, advocate) if user.role in STAFF_ROLES else reply


@endpoint(bp, "/me/export", roles={Role.ADVOCATE}, summary="Everything Vouch holds about the caller", reply=ExportReply)
def export_me(user: User) -> ExportReply:
    return ExportReply(**privacy.export_advocate(_own_advocate(user).id))


@endpoint(
    bp,
    "/me/erase",
    "POST",
    roles={Role.ADVOCATE},
    summary="Erase the caller's account (personal data removed, ledger amounts kept)",
    body=EraseBody,
    reply=EraseReply,
)
def erase_me(user: User, data: EraseBody) -> EraseReply:
    privacy.erase_advocate(_own_advocate(user).id, user.id, "self")
    return EraseReply(status="erased")


@endpoint(
    bp,
    "/advocates/<int:advocate_id>/erase",
    "POST",
    roles={Role.OWNER},
    summary="Erase an advocate on their emailed request; audited",
    body=EraseBody,
    reply=EraseReply,
)
def erase_advocate(user: User, advocate_id: int, data: EraseBody) -> EraseReply:
    if db.session.get(Advocate, advocate_id) is None:
        raise NotFound("Advocate not found.")
    note = f"emailed request: {data.requested_by}" if data.requested_by else "emailed request"
    privacy.erase_advocate(advocate_id, user.id, note)
    return EraseReply(status="erased")


def _own_advocate(user: User) -> Advocate:
    if user.advocate is None or user.advocate.is_erased:
        raise NotFound("Advocate not found.")
    return user.advocate


def advocate_import_reply(run: imports.AdvocateImport) -> AdvocateImportReply:
    return AdvocateImportReply(
        id=run.id,
        filename=run.filename,
        status=run.status.value,
        total_rows=run.total_rows,
        processed_rows=run.processed_rows,
        percent=run.percent,
        invited=run.invited_count,
        skipped=run.skipped_count,
        errors=[ImportProblem(**p) for p in problems_json(run.errors or [])],
        failure_reason=run.failure_reason,
    )


@endpoint(
    bp,
    "/advocates/imports",
    "POST",
    roles=STAFF_ROLES,
    summary="Import advocates from a CSV (a background job; poll the import)",
    status=202,
    body=AdvocateImportBody,
    reply=AdvocateImportReply,
    idempotent=True,
)
def import_advocates(user: User, data: AdvocateImportBody) -> tuple[AdvocateImportReply, int]:
    try:
        run = imports.start_import(data.filename, data.csv.encode(), user.id)
    except ValidationFailed as exc:  # the page's `file` is this body's `csv`
        raise ValidationFailed({"csv" if k == "file" else k: v for k, v in exc.fields.items()}, exc.message) from None
    return advocate_import_reply(run), 202


@endpoint(
    bp,
    "/advocates/imports/<int:import_id>",
    roles=STAFF_ROLES,
    summary="An advocates import: progress, counts and the rows not imported",
    reply=AdvocateImportReply,
)
def advocate_import(user: User, import_id: int) -> AdvocateImportReply:
    run = db.session.get(imports.AdvocateImport, import_id)
    if run is None:
        raise NotFound("Import not found.")
    return advocate_import_reply(run)
