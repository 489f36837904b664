"""Bulk actions on a staff queue: each item goes through its own service call in its own
savepoint, so one item's refusal (already decided, out of stock, gone) undoes only that item's
writes and is reported with its reason while the others are done, all in the caller's one
transaction (hub.transactions commits it once)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from hub.errors import VouchError
from hub.extensions import db
from hub.fields import MAX_INT

MAX_BULK = 200  # items in one bulk request, the API's largest page


@dataclass(frozen=True)
class BulkFailure:
    """An item the service refused: its id and the api.md error code and message."""

    id: int
    code: str
    message: str


@dataclass(frozen=True)
class BulkOutcome:
    """Ids done (in the order given, duplicates dropped) and the refusals, one per failed id."""

    done: list[int] = field(default_factory=list)
    failed: list[BulkFailure] = field(default_factory=list)

    def summary(self, verb: str, noun: str = "") -> str:
        """One line for a flash or a status message: "Fulfilled 3; not done: #7: This
        redemption is already fulfilled." (`verb` in the past tense; `noun` after the count, if any)."""
        text = f"{verb} {len(self.done)}{' ' + noun if noun else ''}"
        if not self.failed:
            return text + "."
        return text + "; not done: " + "; ".join(f"#{f.id}: {f.message.rstrip('.')}" for f in self.failed) + "."


def run_each(ids: Iterable[int], act: Callable[[int], object]) -> BulkOutcome:
    """Call `act(id)` for each distinct id (first MAX_BULK), each in a savepoint: a VouchError
    rolls back that item alone and is recorded; any other exception propagates (and the
    caller's unit rolls everything back)."""
    outcome = BulkOutcome()
    for item_id in list(dict.fromkeys(ids))[:MAX_BULK]:
        try:
            with db.session.begin_nested():
                act(item_id)
        except VouchError as exc:
            outcome.failed.append(BulkFailure(item_id, exc.code, exc.message))
        else:
            outcome.done.append(item_id)
    return outcome


def selected_ids(form: Mapping[str, object]) -> list[int]:
    """The ids ticked in a queue (repeated `ids` fields of a form post), at most MAX_BULK;
    anything that is not a row id is ignored (a page's own checkboxes never send one)."""
    getlist = getattr(form, "getlist", None)
    given = getlist("ids") if getlist else []
    return [
        int(value)
        for value in given
        if isinstance(value, str)
        and value.isascii()
        and value.isdigit()
        and len(value) <= 10
        and 0 < int(value) <= MAX_INT
    ][:MAX_BULK]
