"""The advocates CSV import: every good row becomes an invitation; bad rows are reported by line."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from hub.accounts import AdvocateProfile
from hub.errors import ValidationFailed
from hub.fields import read_row
from hub.invitations import invite


@dataclass
class ImportResult:
    invited: int = 0
    skipped_existing: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


IMPORT_COLUMNS = ("name", "email", "company", "industry", "company_size", "region", "groups")


def import_advocates_csv(text: str, actor_id: int) -> ImportResult:
    """Invite every good row; bad rows are reported by line number and reason."""
    result = ImportResult()
    reader = csv.DictReader(io.StringIO(text))
    missing = {"name", "email"} - {(h or "").strip().lower() for h in (reader.fieldnames or [])}
    if missing:
        raise ValidationFailed({"file": f"The header must include: {', '.join(sorted(missing))}."})
    seen: set[str] = set()
    for line_no, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): v for k, v in raw.items() if isinstance(v, str)}
        try:
            profile = read_row(AdvocateProfile, {k: row.get(k) for k in IMPORT_COLUMNS})
        except ValidationFailed as exc:
            result.errors.append((line_no, "; ".join(f"{k}: {v[0]}" for k, v in exc.fields.items())))
            continue
        if profile.email in seen:
            result.errors.append((line_no, f"{profile.email} appears twice in the file"))
            continue
        seen.add(profile.email)
        if invite(profile, actor_id) is None:
            result.skipped_existing += 1
        else:
            result.invited += 1
    return result
