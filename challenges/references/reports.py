"""The program report's reference and attribution figures, and a registry other packages can
add their sections to (`register_program_section`) so `/reports/program` stays one document."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from challenges import attribution
from challenges.references import services
from hub.settings import get_setting

Section = Callable[[dt.date | None, dt.date | None], dict]
_sections: list[Section] = []


def register_program_section(section: Section) -> None:
    if section not in _sections:
        _sections.append(section)


def program_report(since: dt.date | None, until: dt.date | None) -> dict:
    """Every registered section's fields for the period (dates inclusive, UTC)."""
    report: dict = {"from": since.isoformat() if since else None, "to": until.isoformat() if until else None}
    for section in _sections:
        report.update(section(since, until))
    return report


def program_cost() -> tuple[Decimal, str]:
    setting = get_setting("program_cost") or {}
    try:
        amount = Decimal(str(setting.get("amount", "0")))
    except InvalidOperation:
        amount = Decimal(0)
    return (amount if amount.is_finite() and amount > 0 else Decimal(0)), str(setting.get("currency") or "USD")


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def references_and_attribution(since: dt.date | None, until: dt.date | None) -> dict:
    """Reference fill rate and time-to-fill; sourced/influenced pipeline and won revenue in the
    program currency; win rate and median sales cycle with vs without a reference call; ROI =
    influenced won ÷ program cost (None while no cost is entered)."""
    start = dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC) if since else None
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC) if until else None
    fill = services.fill_metrics(start, end)
    cost, currency = program_cost()
    totals = attribution.program(currency, since, until)
    roi = round(float(totals.influenced_won / cost), 4) if cost > 0 else None
    return {
        "reference_requests": {"filed": fill.filed, "filled": fill.filled},
        "reference_fill_rate": fill.fill_rate,
        "reference_median_hours_to_fill": fill.median_hours_to_fill,
        "currency": currency,
        "sourced_pipeline": _money(totals.sourced_pipeline),
        "sourced_won": _money(totals.sourced_won),
        "influenced_pipeline": _money(totals.influenced_pipeline),
        "influenced_won": _money(totals.influenced_won),
        "win_rate_with_reference": totals.win_rate_with_reference,
        "win_rate_without_reference": totals.win_rate_without_reference,
        "median_sales_cycle_days_with_reference": totals.median_cycle_days_with_reference,
        "median_sales_cycle_days_without_reference": totals.median_cycle_days_without_reference,
        "program_cost": _money(cost),
        "roi": roi,
        "other_currencies": {
            cur: {k: _money(v) for k, v in values.items()} for cur, values in sorted(totals.other_currencies.items())
        },
    }


def attribution_row_json(row: attribution.AdvocateAttribution, name: str | None) -> dict:
    return {
        "advocate_id": row.advocate_id,
        "name": name,
        "currency": row.currency,
        "sourced_pipeline": _money(row.sourced_pipeline),
        "sourced_won": _money(row.sourced_won),
        "influenced_pipeline": _money(row.influenced_pipeline),
        "influenced_won": _money(row.influenced_won),
        "deals": row.deals,
        "deals_closed": row.deals_closed,
        "deals_won": row.deals_won,
        "win_rate": row.win_rate,
    }


register_program_section(references_and_attribution)


def save_program_cost(amount_raw: object, currency_raw: object, actor_id: int) -> tuple[Decimal, str]:
    """The owner's program cost (the ROI denominator), audited."""
    from challenges.references.values import parse_currency, parse_money
    from hub.audit import record_audit
    from hub.errors import ValidationFailed
    from hub.settings import save_setting

    errors: dict[str, str] = {}
    amount = parse_money(amount_raw, errors, "amount", required=True)
    currency = parse_currency(currency_raw, errors, "currency")
    if currency is None:
        errors.setdefault("currency", "This field is required.")
    if errors:
        raise ValidationFailed(errors)
    value = {"amount": f"{amount:.2f}", "currency": currency}
    before, _ = save_setting("program_cost", value, actor_id)
    record_audit(actor_id, "settings.program_cost", "setting", "program_cost", before, value)
    return amount, currency
