"""Owner reports: references and attribution (program figures, per advocate), CSV, program cost."""

from __future__ import annotations

import csv
import io

from flask import Response, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from admin import charts
from admin.console import bp, owner_only
from challenges import incentives, review_rules
from challenges import reports as report_figures
from challenges.api import incentives_csv_response
from challenges.crm import reports
from challenges.crm.forms import ProgramCostForm, ReportPeriodQuery
from hub.contracts import PageQuery, add_query_notice, read_or_400
from hub.csv_files import csv_safe
from hub.extensions import db
from hub.htmx import apply_errors
from hub.models import Advocate, User
from hub.transactions import refusal_renders

PAGE = 50


def _period() -> tuple[report_figures.ReportPeriod, int]:
    args = read_or_400(ReportPeriodQuery, request.args)
    since, until = args.since, args.until
    if since and until and until < since:
        add_query_notice(
            f"The period ended before it began, so it is shown from {until:%b %-d, %Y} to {since:%b %-d, %Y}."
        )
        since, until = until, since
    return report_figures.report_period(since, until), args.page


def _names(advocate_ids: list[int]) -> dict[int, str]:
    return dict(
        db.session.execute(
            select(Advocate.id, User.name).join(User, User.id == Advocate.user_id).where(Advocate.id.in_(advocate_ids))
        ).all()
    )


@bp.get("/reports")
@owner_only
def reports_page(cost_form: ProgramCostForm | None = None, status: int = 200):
    period, page = _period()
    program = report_figures.program_report(period)
    rows, total = reports.per_advocate(limit=PAGE, offset=(page - 1) * PAGE)
    amount, currency = reports.program_cost()
    return render_template(
        "admin/reports.html",
        program=program,
        charts=charts.report_charts(program, period),
        rows=rows,
        names=_names([r.advocate_id for r in rows]),
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE)),
        since=period.start,
        until=period.end,
        period_args=period.as_json(),
        cost_form=cost_form or ProgramCostForm(amount=f"{amount:.2f}", currency=currency),
    ), status


@bp.post("/reports/cost")
@owner_only
@refusal_renders(lambda exc: reports_page(cost_form=apply_errors(ProgramCostForm(), exc), status=422))
def reports_cost():
    form = ProgramCostForm()
    if not form.validate_on_submit():
        return reports_page(cost_form=form, status=422)
    reports.save_program_cost(form.amount.data, form.currency.data, current_user.id)
    flash("Program cost saved.", "success")
    return redirect(url_for("admin.reports_page"))


@bp.get("/reports/attribution.csv")
@owner_only
def attribution_csv():
    rows, _ = reports.per_advocate()
    names = _names([r.advocate_id for r in rows])
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "advocate_id",
            "name",
            "currency",
            "sourced_pipeline",
            "sourced_won",
            "influenced_pipeline",
            "influenced_won",
            "deals",
            "deals_won",
            "win_rate",
        ]
    )
    for r in rows:
        writer.writerow(
            [
                csv_safe(v)
                for v in (
                    r.advocate_id,
                    names.get(r.advocate_id, ""),
                    r.currency,
                    r.sourced_pipeline,
                    r.sourced_won,
                    r.influenced_pipeline,
                    r.influenced_won,
                    r.deals,
                    r.deals_won,
                    "" if r.win_rate is None else r.win_rate,
                )
            ]
        )
    return Response(
        out.getvalue(), mimetype="text/csv", headers={"Content-Disposition": "attachment; filename=attribution.csv"}
    )


def _flatten(prefix: str, value: object) -> list[tuple[str, object]]:
    if isinstance(value, dict):
        return [pair for k, v in value.items() for pair in _flatten(f"{prefix}.{k}" if prefix else str(k), v)]
    return [(prefix, "" if value is None else value)]


@bp.get("/reports/program.csv")
@owner_only
def program_csv():
    """The program report as `metric,value` rows (nested figures as `points.liability.amount`),
    for the period in ?from=&to=."""
    period, _ = _period()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["metric", "value"])
    for name, value in _flatten("", report_figures.program_report(period)):
        writer.writerow([csv_safe(name), csv_safe(value)])
    return Response(
        out.getvalue(), mimetype="text/csv", headers={"Content-Disposition": "attachment; filename=program.csv"}
    )


@bp.get("/reports/incentives")
@owner_only
def incentives_page():
    """The review incentive log (product.md §15): offers and awards, what legal asks for."""
    args = read_or_400(PageQuery, request.args)
    awarded, total = incentives.awarded(limit=PAGE, offset=(args.page - 1) * PAGE)
    return render_template(
        "admin/incentives.html",
        offered=incentives.offered(),
        awarded=awarded,
        total=total,
        page=args.page,
        pages=max(1, -(-total // PAGE)),
        platforms=review_rules.PLATFORMS,
    )


@bp.get("/reports/incentives.csv")
@owner_only
def incentives_csv():
    return incentives_csv_response()
