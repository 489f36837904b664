"""Evidence by upload (issue 19): the file a completion carries, checked by hub.uploads, stored
under a random key once the completion commits, served only to staff and the advocate whose
completion it is, listed in the advocate's export and deleted with them.

Services flush and never commit; files follow the transaction (hub.uploads.stage / discard)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select

from challenges.catalogue import Entry
from challenges.models import Challenge, Completion, EvidenceFile
from hub import uploads
from hub.errors import NotFound, ValidationFailed
from hub.extensions import db
from hub.privacy import rows

AREA = "evidence"
FIELD = "evidence_file"


@dataclass(frozen=True)
class SentFile:
    """A file as it arrived: its bytes (read up to one past the limit) and the sender's name."""

    data: bytes
    filename: str | None


def file_kinds(challenge: Challenge | Entry) -> tuple[str, ...]:
    """The kinds of file the challenge takes ("image", "pdf"): its own, or both when unset."""
    chosen = tuple(k for k in uploads.FAMILIES if k in (challenge.file_kinds or ()))
    return chosen or tuple(uploads.FAMILIES)


def accept_attribute(challenge: Challenge) -> str:
    """The file input's `accept` list (a hint to the browser's picker; the server checks content)."""
    kinds = file_kinds(challenge)
    types = [t.content_type for t in uploads.TYPES.values() if t.family in kinds]
    return ",".join(types)


def accepted_text(challenge: Challenge) -> str:
    """What the challenge takes and up to what size, for the form's help line."""
    kinds = uploads.accepted_text(file_kinds(challenge))
    return f"{kinds[:1].upper()}{kinds[1:]}, up to {uploads.size_text(uploads.max_bytes())}."


def clean_file(challenge: Challenge | Entry, files: list[SentFile]) -> uploads.CheckedFile | None:
    """The one file a challenge with "file" evidence requires, checked by its content; None for a
    challenge that takes none. Raises ValidationFailed on `evidence_file`: none chosen, several,
    a file for a challenge that takes none, or any of hub.uploads.check_file's refusals."""
    wanted = "file" in (challenge.evidence or ())
    if not wanted:
        if files:
            raise ValidationFailed({FIELD: "This challenge takes no file."})
        return None
    if not files:
        raise ValidationFailed({FIELD: f"Choose a file: {uploads.accepted_text(file_kinds(challenge))}."})
    if len(files) > 1:
        raise ValidationFailed({FIELD: "Send one file only."})
    sent = files[0]
    return uploads.check_file(sent.data, sent.filename, file_kinds(challenge), FIELD)


def attach(completion: Completion, checked: uploads.CheckedFile) -> EvidenceFile:
    """Record the file of a new completion: the row now, the bytes renamed into place when the
    transaction commits (removed if it rolls back)."""
    key = uploads.stage(checked.data, AREA)
    row = EvidenceFile(
        completion_id=completion.id,
        storage_key=key,
        name=checked.name,
        content_type=checked.type.content_type,
        size_bytes=checked.size,
        sha256=checked.sha256,
    )
    db.session.add(row)
    db.session.flush()
    return row


def files_for(completion_ids: list[int]) -> dict[int, EvidenceFile]:
    """completion id → its file, for the completions that have one (one query)."""
    if not completion_ids:
        return {}
    found = db.session.scalars(select(EvidenceFile).where(EvidenceFile.completion_id.in_(completion_ids)))
    return {f.completion_id: f for f in found}


def file_of(completion_id: int, advocate_id: int | None) -> tuple[EvidenceFile, Path]:
    """A completion's file and where its bytes are, for staff (`advocate_id` None) or the
    advocate whose completion it is. NotFound for anyone else, for a completion without a file
    and for a file whose bytes are missing: the same answer, so nobody learns what exists."""
    query = (
        select(EvidenceFile)
        .join(Completion, Completion.id == EvidenceFile.completion_id)
        .where(EvidenceFile.completion_id == completion_id)
    )
    if advocate_id is not None:
        query = query.where(Completion.advocate_id == advocate_id)
    row = db.session.scalar(query)
    path = uploads.stored_path(row.storage_key, AREA) if row is not None else None
    if row is None or path is None:
        raise NotFound("File not found.")
    return row, path


def file_type(row: EvidenceFile) -> uploads.FileType:
    """The stored file's type (from the content type recorded when it was checked)."""
    return next(t for t in uploads.TYPES.values() if t.content_type == row.content_type)


def export_rows(advocate_id: int) -> list[dict[str, Any]]:
    """The advocate's files as their export lists them: names, types, sizes, sha256, times —
    not the bytes (the export is one JSON document; the files download from the challenge page)."""
    query = (
        select(
            EvidenceFile.completion_id,
            EvidenceFile.name,
            EvidenceFile.content_type,
            EvidenceFile.size_bytes,
            EvidenceFile.sha256,
            EvidenceFile.created_at.label("uploaded_at"),
        )
        .join(Completion, Completion.id == EvidenceFile.completion_id)
        .where(Completion.advocate_id == advocate_id)
        .order_by(EvidenceFile.id)
    )
    return rows(query)


def erase_files(advocate_id: int) -> int:
    """Delete the advocate's files: the rows now, the bytes when the erasure commits. Returns
    how many there were."""
    owned = select(Completion.id).where(Completion.advocate_id == advocate_id)
    keys = list(db.session.scalars(select(EvidenceFile.storage_key).where(EvidenceFile.completion_id.in_(owned))))
    db.session.execute(
        delete(EvidenceFile).where(EvidenceFile.completion_id.in_(owned)).execution_options(synchronize_session=False)
    )
    uploads.discard(keys, AREA)
    return len(keys)
