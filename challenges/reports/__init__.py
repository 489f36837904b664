"""The owner's report figures, computed once for the API, the dashboard, the reports page and the
CSV: a period (`ReportPeriod`, `report_period`), the program report for it compared with the
previous period (`program_report`), and monthly trends (`trend`, `TRENDS`)."""

from __future__ import annotations

from challenges.reports.activity import TRENDS, acts_by_type_and_month, trend
from challenges.reports.period import ReportPeriod, quarter_of, report_period, trailing_months
from challenges.reports.program import change, period_figures, program_report

__all__ = [
    "TRENDS",
    "ReportPeriod",
    "acts_by_type_and_month",
    "change",
    "period_figures",
    "program_report",
    "quarter_of",
    "report_period",
    "trailing_months",
    "trend",
]
