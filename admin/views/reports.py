"""Owner reports: the program report for the chosen period (admin.periods) with attribution per
advocate and the report tables (admin.views.report_tables), their CSVs, program cost."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from admin import charts
from admin.console import bp, owner_only
from admin.periods import PRESETS, chosen_period
from admin.views.report_tables import tables_for
from challenges import incentives, review_rules
from challenges import reports as report_figures
from challenges.api import incentives_csv_response
from challenges.crm import reports
from challenges.crm.forms import ProgramCostForm
from hub.contracts import PageQuery, read_or_400
from hub.csv_files import csv_download
from hub.extensions import db
from hub.htmx import apply_errors
from hub.models import Advocate, User
from hub.transactions import refusal_renders

PAGE = 50


def _names(advocate_ids: list[int]) -> dict[int, str]:
    return dict(
        db.session.execute(
            select(Advocate.id, User.name).join(User, User.id == Advocate.user_id).where(Advocate.id.in_(advocate_ids))
        ).all()
    )


@bp.get("/reports")
@owner_only
def reports_page(cost_form: ProgramCostForm | None = None, status: int = 200):
    period = chosen_period(request.args)
    page = read_or_400(PageQuery, request.args).page
    program = report_figures.program_report(period.report)
    rows, total = reports.per_advocate(limit=PAGE, offset=(page - 1) * PAGE, since=period.since, until=period.until)
    amount, currency = reports.program_cost()
    return render_template(
        "admin/reports.html",
        program=program,
        charts=charts.report_charts(program, period.report),
        figures=charts.report_figures(program),
        previous=period.report.previous,
        rows=rows,
        names=_names([r.advocate_id for r in rows]),
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE)),
        period=period,
        presets=PRESETS,
        tables=tables_for(period),
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
    return redirect(url_for("admin.reports_page", **chosen_period(request.args).args))


@bp.get("/reports/cost")
@owner_only
def reports_cost_page():
    """The cost form's address opened again (history, a bookmark, a reload after an error): the
    reports page for the same period, where the form is — not a 405 page."""
    return redirect(url_for("admin.reports_page", **chosen_period(request.args).args))


def _flatten(prefix: str, value: object) -> list[tuple[str, object]]:
    if isinstance(value, dict):
        return [pair for k, v in value.items() for pair in _flatten(f"{prefix}.{k}" if prefix else str(k), v)]
    if isinstance(value, list) and all(isinstance(v, dict) and set(v) == {"month", "count"} for v in value):
        # A monthly series (review velocity, in all and per platform): one row per month.
        return [(f"{prefix}.{v['month']}", v["count"]) for v in value]
    return [(prefix, "" if value is None else value)]


@bp.get("/reports/program.csv")
@owner_only
def program_csv():
    """The program report as `metric,value` rows (nested figures as `points.liability.amount`),
    for the period in the query string (admin.periods, as the page)."""
    period = chosen_period(request.args)
    return csv_download(
        f"program_{period.file_suffix}.csv",
        ("metric", "value"),
        _flatten("", report_figures.program_report(period.report)),
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
