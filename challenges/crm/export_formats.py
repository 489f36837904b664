"""CRM report exports the opportunity CSV import recognises by their standard column headers
(product.md §13): a Salesforce "Opportunities" report export and a HubSpot deals export. Each
row is mapped onto Vouch's own columns (challenges.crm.opportunities.CSV_COLUMNS) before it goes
through the same parse and upsert as any row; the mapping is shown to the user before import.

A format is recognised when every one of its required headers is present (case and spacing
ignored). Values are translated where the CRMs write them differently: US dates (1/31/2026)
and date-times become ISO dates, "Closed Won"-style stages and yes/no flags become is_closed /
is_won, amounts lose their currency symbols and thousands separators.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

Translate = Callable[[str], str]


def _header_key(name: str | None) -> str:
    return " ".join((name or "").replace("\ufeff", "").split()).casefold()


def _date(value: str) -> str:
    """ISO date from 2026-01-31, 2026-01-31 10:00, 1/31/2026 or 31.01.2026; else unchanged (the
    row is then refused with the date's own error)."""
    text = (value or "").strip()
    if not text:
        return ""
    head = text.split(" ")[0].split("T")[0]
    for pattern in ("%Y-%m-%d", "%m/%d/%Y", "%d.%m.%Y", "%Y/%m/%d"):
        try:
            return dt.datetime.strptime(head, pattern).date().isoformat()
        except ValueError:
            continue
    return text


def _amount(value: str) -> str:
    text = re.sub(r"[^\d.,-]", "", value or "")
    return text.replace(",", "") if text.count(".") <= 1 else text


def _flag(value: str) -> str:
    text = (value or "").strip().casefold()
    if text in ("1", "true", "yes", "y", "x", "checked"):
        return "true"
    if text in ("0", "false", "no", "n", ""):
        return "false"
    return text


@dataclass(frozen=True)
class Column:
    target: str  # one of CSV_COLUMNS
    sources: tuple[str, ...]  # headers of the export, first present wins
    translate: Translate | None = None


@dataclass(frozen=True)
class ExportFormat:
    key: str
    label: str
    required: tuple[str, ...]
    columns: tuple[Column, ...]
    stage_outcome: Callable[[str], tuple[bool, bool]] | None = None

    def matches(self, header: list[str]) -> bool:
        present = {_header_key(h) for h in header}
        return all(_header_key(r) in present for r in self.required)

    def mapping(self, header: list[str]) -> list[tuple[str, str | None]]:
        """(Vouch column, export header it is read from — None when absent), for the preview."""
        present = {_header_key(h): h for h in header}
        result = []
        for column in self.columns:
            source = next((present[_header_key(s)] for s in column.sources if _header_key(s) in present), None)
            result.append((column.target, source))
        return result

    def translate(self, row: Mapping[str, str | None]) -> dict[str, str]:
        """One export row (keys as DictReader gives them) as a Vouch row. Without closed/won
        columns (or with them blank) the stage says it: "Closed Won", "closedlost", …"""
        by_key = {_header_key(k): v or "" for k, v in row.items() if isinstance(k, str)}
        out: dict[str, str] = {}
        given: set[str] = set()
        for column in self.columns:
            value = next((by_key[_header_key(s)] for s in column.sources if _header_key(s) in by_key), "")
            if value.strip():
                given.add(column.target)
            out[column.target] = column.translate(value) if column.translate else value.strip()
        if self.stage_outcome and not {"is_closed", "is_won"} & given:
            closed, won = self.stage_outcome(out.get("stage", ""))
            out["is_closed"], out["is_won"] = str(closed).lower(), str(won).lower()
        if out.get("is_won") == "true":
            out["is_closed"] = "true"
        if not out.get("currency"):
            out["currency"] = "USD"
        return out


def _stage_outcome(stage: str) -> tuple[bool, bool]:
    """(closed, won) from a stage name such as "Closed Won", "closedlost"; open otherwise."""
    text = re.sub(r"[^a-z]", "", (stage or "").casefold())
    if text in ("closedwon", "won"):
        return True, True
    if text in ("closedlost", "lost"):
        return True, False
    return False, False


SALESFORCE = ExportFormat(
    key="salesforce",
    label='Salesforce "Opportunities" report export',
    required=("Opportunity ID", "Opportunity Name", "Account Name", "Amount", "Stage", "Created Date"),
    columns=(
        Column("external_id", ("Opportunity ID",)),
        Column("name", ("Opportunity Name",)),
        Column("account", ("Account Name",)),
        Column("amount", ("Amount",), _amount),
        Column("currency", ("Opportunity Currency", "Amount Currency", "Currency")),
        Column("stage", ("Stage",)),
        Column("is_closed", ("Closed",), _flag),
        Column("is_won", ("Won",), _flag),
        Column("created_date", ("Created Date",), _date),
        Column("close_date", ("Close Date",), _date),
        Column("contact_emails", ("Contact: Email", "Primary Contact Email", "Email")),
    ),
    stage_outcome=_stage_outcome,
)

HUBSPOT = ExportFormat(
    key="hubspot",
    label="HubSpot deals export",
    required=("Record ID", "Deal Name", "Deal Stage", "Amount", "Create Date"),
    columns=(
        Column("external_id", ("Record ID",)),
        Column("name", ("Deal Name",)),
        Column("account", ("Associated Company", "Associated Company (Primary)", "Company name")),
        Column("amount", ("Amount",), _amount),
        Column("currency", ("Currency", "Deal currency code")),
        Column("stage", ("Deal Stage",)),
        Column("is_closed", ("Is Deal Closed?", "Is closed"), _flag),
        Column("is_won", ("Is Closed Won", "Is closed won"), _flag),
        Column("created_date", ("Create Date",), _date),
        Column("close_date", ("Close Date",), _date),
        Column("contact_emails", ("Associated Contact Email", "Contact email")),
    ),
    stage_outcome=_stage_outcome,
)

FORMATS = (SALESFORCE, HUBSPOT)


def detect(header: list[str]) -> ExportFormat | None:
    """The export format these headers are, or None (Vouch's own columns, or unknown)."""
    return next((f for f in FORMATS if f.matches(header)), None)


def by_key(key: str | None) -> ExportFormat | None:
    return next((f for f in FORMATS if f.key == key), None)
