"""JSON routes for the CRM (api.md): the opportunity upsert the CRM integration token may call,
opportunities, an advocate's impact, and the attribution and program reports."""

from __future__ import annotations

from flask import request
from sqlalchemy import func, select

from challenges import report_tables
from challenges import reports as report_figures
from challenges.crm import integration, opportunities, reports
from challenges.crm.contracts import (
    AttributionPage,
    AttributionQuery,
    ImpactReply,
    OpportunityPage,
    OpportunityReply,
    PerformanceReply,
    ProgramReport,
    ProgramReportQuery,
    TrendReply,
    TrendsQuery,
)
from challenges.crm.models import Opportunity
from challenges.crm.opportunities import OpportunityBody
from hub.contracts import PageQuery
from hub.endpoints import api_blueprint, api_error, endpoint
from hub.extensions import db
from hub.models import Advocate, Role, User

bp = api_blueprint("crm_api")
TAG = "crm"
# A CRM integration token reaches only these endpoints.
INTEGRATION_ENDPOINTS = frozenset({"crm_api.upsert_opportunity", "openapi.openapi_document"})


@bp.before_app_request
def _integration_scope():
    """A CRM integration token (`vci_…`) may only upsert opportunities, whoever it acts for."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if (
        scheme.lower() == "bearer"
        and token.strip().startswith(integration.INTEGRATION_PREFIX)
        and request.endpoint not in INTEGRATION_ENDPOINTS
    ):
        return api_error(403, "forbidden", "This integration token may only upsert CRM opportunities.")
    return None


def opportunity_reply(o: Opportunity) -> OpportunityReply:
    return OpportunityReply(
        id=o.id,
        external_id=o.external_id,
        name=o.name,
        account=o.account,
        amount=o.amount,
        currency=o.currency,
        stage=o.stage,
        is_closed=o.is_closed,
        is_won=o.is_won,
        created_date=o.created_date,
        close_date=o.close_date,
        contact_emails=list(o.contact_emails or []),
        referral_id=o.referral_id,
        reference_request_ids=list(o.reference_request_ids or []),
        updated_at=o.updated_at,
    )


@endpoint(
    bp,
    "/crm/opportunities",
    "POST",
    roles={Role.OWNER},
    body=OpportunityBody,
    reply=OpportunityReply,
    status=(201, 200),
    idempotent=True,
    tag=TAG,
    summary="Upsert an opportunity by external_id (owner or CRM integration token): 201 created, 200 updated",
)
def upsert_opportunity(user: User, data: OpportunityBody) -> tuple[OpportunityReply, int]:
    result = opportunities.upsert_opportunity(opportunities.parse_opportunity(data))
    return opportunity_reply(result.opportunity), 201 if result.created else 200


@endpoint(
    bp,
    "/crm/opportunities",
    roles={Role.OWNER, Role.MANAGER},
    tag=TAG,
    summary="Opportunities",
    query=PageQuery,
    reply=OpportunityPage,
)
def list_opportunities(user: User, args: PageQuery) -> OpportunityPage:
    total = db.session.execute(select(func.count()).select_from(Opportunity)).scalar_one()
    rows = db.session.scalars(
        select(Opportunity)
        .order_by(Opportunity.updated_at.desc(), Opportunity.id.desc())
        .limit(args.per_page)
        .offset(args.offset)
    ).all()
    return OpportunityPage.of([opportunity_reply(o) for o in rows], args, total)


@endpoint(
    bp,
    "/me/impact",
    roles={Role.ADVOCATE},
    tag=TAG,
    summary="Deals I helped (account and stage, no amounts)",
    reply=ImpactReply,
)
def my_impact(user: User) -> ImpactReply:
    deals = reports.deals_helped(user.advocate.id) if user.advocate else []
    return ImpactReply.model_validate(
        {
            "items": [
                {
                    "account": d.account,
                    "name": d.name,
                    "stage": d.stage,
                    "is_closed": d.is_closed,
                    "is_won": d.is_won,
                    "how": list(d.kinds),
                }
                for d in deals
            ]
        }
    )


@endpoint(
    bp,
    "/reports/attribution",
    roles={Role.OWNER},
    tag=TAG,
    summary="Attribution per advocate (with from/to: the deals created in that period)",
    query=AttributionQuery,
    reply=AttributionPage,
)
def attribution_report(user: User, args: AttributionQuery) -> AttributionPage:
    since = until = None
    if args.since or args.until:
        period = report_figures.report_period(args.since, args.until)
        since, until = period.start, period.end
    rows, total = reports.per_advocate(limit=args.per_page, offset=args.offset, since=since, until=until)
    names = dict(
        db.session.execute(
            select(Advocate.id, User.name)
            .join(User, User.id == Advocate.user_id)
            .where(Advocate.id.in_([r.advocate_id for r in rows]))
        ).all()
    )
    items = [reports.attribution_row_json(r, names.get(r.advocate_id)) for r in rows]
    return AttributionPage.of(items, args, total)


@endpoint(
    bp,
    "/reports/program",
    roles={Role.OWNER},
    tag=TAG,
    summary="The program report",
    query=ProgramReportQuery,
    reply=ProgramReport,
)
def program_report(user: User, args: ProgramReportQuery) -> ProgramReport:
    period = report_figures.report_period(args.since, args.until)
    return ProgramReport.model_validate(report_figures.program_report(period))


@endpoint(
    bp,
    "/reports/trends",
    roles={Role.OWNER},
    tag=TAG,
    summary="A monthly series: acts, reviews, points issued or redeemed, active advocates, asks",
    query=TrendsQuery,
    reply=TrendReply,
)
def trends_report(user: User, args: TrendsQuery) -> TrendReply:
    period = report_figures.report_period(args.since, args.until, trend=True)
    points = report_figures.trend(args.metric, period)
    return TrendReply.model_validate({"metric": args.metric, "interval": args.interval, "points": points})


def _performance(rows: list[report_tables.Performance], period: report_figures.ReportPeriod) -> PerformanceReply:
    items = [
        {
            "id": r.key,
            "name": r.name,
            "type": r.kind or None,
            "completions": r.completions,
            "approved": r.approved,
            "rejected": r.rejected,
            "approval_rate": r.approval_rate,
            "median_hours_to_approve": r.median_hours_to_approve,
            "points_paid": r.points_paid,
            "asks_spent": r.asks_spent,
        }
        for r in rows
    ]
    return PerformanceReply.model_validate({**period.as_json(), "items": items})


@endpoint(
    bp,
    "/reports/challenges",
    roles={Role.OWNER},
    tag=TAG,
    summary="Performance per challenge for a period (default this quarter)",
    query=ProgramReportQuery,
    reply=PerformanceReply,
)
def challenges_report(user: User, args: ProgramReportQuery) -> PerformanceReply:
    period = report_figures.report_period(args.since, args.until)
    return _performance(report_tables.challenge_performance(period.starts_at, period.ends_before), period)


@endpoint(
    bp,
    "/reports/groups",
    roles={Role.OWNER},
    tag=TAG,
    summary="Performance per group of advocates for a period (default this quarter)",
    query=ProgramReportQuery,
    reply=PerformanceReply,
)
def groups_report(user: User, args: ProgramReportQuery) -> PerformanceReply:
    period = report_figures.report_period(args.since, args.until)
    return _performance(report_tables.group_performance(period.starts_at, period.ends_before), period)
