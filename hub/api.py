"""hub's JSON routes (api.md): the caller, advocates (create, list, one), advocates imports, and
the caller's data (export, erasure; an owner's erasure on an emailed request)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from hub import accounts, audit, imports, privacy, trust
from hub.accounts import AdvocateProfile
from hub.advocate_lists import advocates_query
from hub.contracts import (
    AdvocateImportBody,
    AdvocateImportReply,
    AdvocateListQuery,
    AdvocatePage,
    AdvocateReply,
    AuditPage,
    AuditQuery,
    EraseBody,
    EraseReply,
    ExportReply,
    ImportProblem,
    MeReply,
    TrustClearBody,
    TrustReply,
    TrustSignalReply,
)
from hub.csv_files import problems_json
from hub.db import utcnow
from hub.endpoints import api_blueprint, endpoint
from hub.errors import NotFound, ValidationFailed
from hub.extensions import db
from hub.hooks import hooks
from hub.models import ALL_ROLES, STAFF_ROLES, Advocate, Role, TrustSignal, User

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
    group = None
    if args.group:
        group = accounts.group_by_name(args.group)
        if group is None:
            return AdvocatePage.of([], args, 0)
    query = advocates_query(
        q=args.q,
        tier=args.tier,
        group_id=group.id if group else None,
        persona=args.persona,
        last_active=args.last_active,
        burnout=args.burnout,
        trust_below=args.trust_below,
        now=utcnow(),
    )
    total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    advocates = db.session.scalars(
        query.options(selectinload(Advocate.user), selectinload(Advocate.groups))
        .order_by(Advocate.id)
        .limit(args.per_page)
        .offset(args.offset)
    ).all()
    facts = hooks().advocate_facts([a.id for a in advocates])
    signals = trust.signals_for([a.id for a in advocates])
    return AdvocatePage.of(
        [for_staff(advocate_reply(a, facts[a.id]), a, signals[a.id]) for a in advocates], args, total
    )


def for_staff(reply: AdvocateReply, advocate: Advocate, signals: list[TrustSignal] | None = None) -> AdvocateReply:
    """What only staff see on an advocate: whether their user is active (issue 14), and their
    trust score with its signals (issue 18; a list passes the page's uncleared signals, one
    advocate's reply lists cleared ones too)."""
    reply.is_active = advocate.user.is_active_user
    reply.trust = trust_reply(advocate, trust.signals_of(advocate.id) if signals is None else signals)
    return reply


def signal_reply(signal: TrustSignal) -> TrustSignalReply:
    kind = trust.KINDS.get(signal.kind)
    return TrustSignalReply(
        id=signal.id,
        kind=signal.kind,
        label=kind.label if kind else signal.kind,
        weight=signal.weight,
        evidence=signal.evidence,
        detected_at=signal.detected_at,
        cleared_at=signal.cleared_at,
        cleared_reason=signal.cleared_reason,
    )


def trust_reply(advocate: Advocate, signals: list[TrustSignal]) -> TrustReply:
    limit = trust.threshold()
    return TrustReply(
        score=advocate.trust_score,
        threshold=limit,
        below_threshold=advocate.trust_score < limit,
        signals=[signal_reply(s) for s in signals],
    )


@endpoint(
    bp,
    "/advocates/<int:advocate_id>/trust-signals/<int:signal_id>/clear",
    "POST",
    roles=STAFF_ROLES,
    summary="Clear a trust signal with a reason (the score is recomputed; audited)",
    body=TrustClearBody,
    reply=TrustSignalReply,
)
def clear_trust_signal(user: User, advocate_id: int, signal_id: int, data: TrustClearBody) -> TrustSignalReply:
    return signal_reply(trust.clear_signal(signal_id, user.id, data.reason, advocate_id=advocate_id))


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


@endpoint(
    bp,
    "/audit",
    roles={Role.OWNER},
    summary="The audit log, newest first: who, what, when and the changed fields; filter by actor, action, dates",
    query=AuditQuery,
    reply=AuditPage,
)
def audit_log(user: User, args: AuditQuery) -> AuditPage:
    if args.since and args.until and args.until < args.since:
        raise ValidationFailed({"to": "Must be on or after `from`."})
    where = audit.AuditFilter(args.actor, args.action, args.since, args.until)
    rows, total = audit.audit_page(where, args.per_page, args.offset)
    items = [
        {
            "id": e.id,
            "at": e.created_at,
            "actor_id": e.actor_id,
            "actor": e.actor.name if e.actor else None,
            "action": e.action,
            "target_type": e.target_type,
            "target_id": e.target_id,
            "changes": [vars(c) for c in audit.changes(e.before, e.after)],
        }
        for e in rows
    ]
    return AuditPage.of(items, args, total)
