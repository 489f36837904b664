"""The bases of every API contract: request bodies (`Body`), query strings (`Query`, `PageQuery`),
replies (`Reply`, `Page`) and the api.md error shape (`ErrorReply`). Each package's
`contracts.py` builds its models on these from the field types in `hub.fields`; `hub.endpoints`
validates requests and writes replies through them, and `/api/v1/openapi.json` publishes them.
Below the bases: hub's own routes' replies and list query (the caller, advocates, notifications)."""

from __future__ import annotations

import copy
import datetime as dt
import unicodedata
from collections.abc import Sequence
from typing import Annotated, Any, ClassVar, Generic, Literal, Self, TypeVar

from flask import abort, g
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    create_model,
    model_serializer,
    model_validator,
)
from werkzeug.datastructures import MultiDict

from hub.advocate_lists import Burnout, LastActive
from hub.bulk import MAX_BULK, BulkOutcome
from hub.errors import ValidationFailed
from hub.fields import ROW_ID, Flag, IsoDate, ListOf, OneLine, OneOf, Timestamp, WholeNumber, read
from hub.models import InviteState, Persona, Role, Tier

MAX_PER_PAGE = 200  # api.md: `per_page` at most 200
API_CSV_CHARS = 2_000_000  # a CSV sent as JSON text: within the API's 2 MiB request limit


Item = TypeVar("Item")


Input = TypeVar("Input", bound=BaseModel)


class Body(BaseModel):
    """A JSON request body. Unknown keys are ignored, so fields a client may not set (`points`,
    `status`, `advocate_id` smuggled into a body) change nothing."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class UploadForm(Body):
    """A `multipart/form-data` body (a route that also takes a file): its text fields, read
    with the same types as the JSON body, which `as_body` returns; the files themselves are
    read by the route (`hub.endpoints.endpoint(upload=…)`)."""

    def as_body(self) -> Body:
        raise NotImplementedError


def _no_defaults(schema: dict[str, Any]) -> None:
    for field in schema.get("properties", {}).values():
        field.pop("default", None)  # a field left out is unchanged, not set to a default


class _Patch(Body):
    model_config = ConfigDict(json_schema_extra=_no_defaults)


def patch_of(model: type[Body]) -> type[Body]:
    """The PATCH body of `model`: every field may be left out (unchanged; the instance's
    `model_fields_set` names those sent), and a sent field passes the same type, so null where
    the field cannot be null is refused."""
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        optional = copy.copy(info)
        optional.default = None
        fields[name] = (info.annotation, optional)
    return create_model(
        f"{model.__name__.removesuffix('Body')}Patch",
        __base__=_Patch,
        __module__=model.__module__,
        __doc__=f"Any of {model.__name__}'s fields; those left out stay as they are.",
        **fields,
    )


class Query(BaseModel):
    """A query string: a blank parameter (`?status=`) is one not given; unknown ones are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _blanks_are_absent(cls, data: Any) -> Any:
        if isinstance(data, MultiDict):
            data = data.to_dict()
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not (isinstance(v, str) and not v.strip())}
        return data


class PageQuery(Query):
    """`?page=1&per_page=50`: pages count from 1, at most 200 items a page."""

    page: Annotated[int, WholeNumber(1, 1_000_000)] = 1
    per_page: Annotated[int, WholeNumber(1, MAX_PER_PAGE)] = 50

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    def window(self, items: list[Item]) -> list[Item]:
        """This page's slice of a list held whole in memory."""
        return items[self.offset : self.offset + self.per_page]


def read_or_400(model: type[Input], source: Any) -> Input:
    """For pages: a query string or a small form post through its model. A query string (a
    `Query` model) never fails the page (issue 12 item 8): a parameter that does not fit —
    `?period=bogus`, `?group=EMEA` where an id is expected, a date in year 9999 — is left at its
    default and `query_notices()` says which and why, shown inline by the base template. A small
    form post that does not fit is 400 Bad Request (the pages' own forms never send one)."""
    try:
        return read(model, source)
    except ValidationFailed as exc:
        if not issubclass(model, Query):
            abort(400)
        refused = exc.fields
    given = source.to_dict() if isinstance(source, MultiDict) else dict(source)
    for name, messages in refused.items():
        message = messages[0] if isinstance(messages, list) else messages
        value = str(given.pop(name, ""))[:40]
        add_query_notice(f"“{name}={value}” was not used: {message}")
    try:
        return read(model, given)
    except ValidationFailed:
        abort(400)


def add_query_notice(message: str) -> None:
    """A note for the page about its query string (a parameter ignored or adjusted). The notes
    quote what was typed, so control and format characters in it (a right-to-left override
    would reverse the rest of the line, U+0001 is invisible) are shown as `\\u202e`-style
    escapes, never as themselves."""
    g.setdefault("vouch_query_notices", []).append(_shown_plainly(message))


def _shown_plainly(text: str) -> str:
    """`text` with every control (Cc) and format (Cf) character written as its escape."""
    if text.isprintable():
        return text
    return "".join(f"\\u{ord(c):04x}" if unicodedata.category(c) in ("Cc", "Cf") else c for c in text)


def query_notices() -> list[str]:
    """This request's notes about its query string (templates: `query_notices()`)."""
    return list(g.get("vouch_query_notices", []))


class Reply(BaseModel):
    """A JSON reply. Fields without a default are always written (null when empty); a field with
    a default is written only when the reply sets it — the keys only staff see, or only the
    advocate's feed carries — so the schema lists it as optional."""

    model_config = ConfigDict(extra="forbid")

    _optional: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls._optional = frozenset(name for name, info in cls.model_fields.items() if not info.is_required())

    # No return annotation: pydantic would publish it as the reply's schema instead of the fields.
    @model_serializer(mode="wrap")
    def _given_fields(self, handler: SerializerFunctionWrapHandler):
        data = handler(self)
        left_out = self._optional - self.model_fields_set
        if not left_out:
            return data
        return {k: v for k, v in data.items() if k not in left_out}


class Page(Reply, Generic[Item]):
    """A page of a list: `{"items": [...], "page": 1, "per_page": 50, "total": N}`."""

    items: list[Item]
    page: int
    per_page: int
    total: int

    @classmethod
    def of(cls, items: Sequence[Any], query: PageQuery, total: int, **extra: Any) -> Self:
        return cls(items=items, page=query.page, per_page=query.per_page, total=total, **extra)


class ErrorDetail(Reply):
    """`code` (api.md's snake_case codes), a human `message`, and `fields` ({name: [message]})
    for validation errors; some refusals add details (e.g. `available_at` with cap_reached)."""

    model_config = ConfigDict(extra="allow")

    code: str
    message: str
    fields: dict[str, list[str]] | None = None


class ErrorReply(Reply):
    """Every error: `{"error": {"code", "message", "fields"?}}`."""

    error: ErrorDetail


# --- hub's own routes: the caller, advocates, notifications ------------------------------------


class ExpiringPoints(Reply):
    """Points that expire at a time unless spent first (product.md §14)."""

    points: int
    expires_at: Timestamp


class TrustSignalReply(Reply):
    """One trust signal (product.md §15) with its evidence; `cleared_*` once staff cleared it."""

    id: int
    kind: str
    label: str
    weight: int
    evidence: str
    detected_at: Timestamp
    cleared_at: Timestamp | None = None
    cleared_reason: str | None = None


class TrustReply(Reply):
    """Staff only: the advocate's trust score (0–100) and their signals, uncleared first."""

    score: int
    threshold: int
    below_threshold: bool
    signals: list[TrustSignalReply]


class TrustClearBody(Body):
    """Why the signal does not count (kept with the signal and in the audit log)."""

    reason: Annotated[str, OneLine(500, missing="Say why this signal does not count.")]


class AdvocateReply(Reply):
    """api.md's advocate. `badges`, `asks_last_365`, `burnout` and `expiring` are the facts other
    packages register on hub.hooks."""

    id: int
    user_id: int
    name: str
    email: str
    title: str | None
    company: str | None
    industry: str | None
    company_size: str | None
    region: str | None
    time_zone: str | None = None  # IANA zone the advocate reads times in; null: UTC (not chosen)
    groups: list[str]
    tier: Tier
    lifetime_points: int
    balance: int
    badges: list[str]
    asks_last_365: int
    burnout: str
    expiring: list[ExpiringPoints]
    joined_at: Timestamp | None
    last_activity_at: Timestamp | None
    is_active: bool | None = None  # staff only (api.md, second release): the user may log in
    persona: Persona | None = None
    account_id: int | None = None
    trust: TrustReply | None = None  # staff only (product.md §15)


class AdvocatePage(Page[AdvocateReply]):
    pass


class AdvocateListQuery(PageQuery):
    """Filters of the advocates list (hub.advocate_lists): tier, group (by name), search, persona,
    last active (`7d`, `30d`, `90d`, `over_90d`) and burnout bucket."""

    tier: Annotated[Tier | None, OneOf(Tier)] = None
    # advocates whose trust score is below this (e.g. the owner's trust_review_threshold)
    trust_below: Annotated[int | None, WholeNumber(0, 101)] = None
    group: Annotated[str | None, OneLine(80)] = None
    q: Annotated[str | None, OneLine(100)] = None
    persona: Annotated[Persona | None, OneOf(Persona)] = None
    last_active: Annotated[LastActive | None, OneOf(LastActive)] = None
    burnout: Annotated[Burnout | None, OneOf(Burnout)] = None


class AdvocateImportBody(Body):
    """An advocates CSV sent as JSON text (the page takes a file of up to 5 MB; a request here is
    bounded by the API's request limit, about 2 MB)."""

    csv: str = Field(max_length=API_CSV_CHARS, description="The file's text: a header line, then one advocate a line")
    filename: Annotated[str | None, OneLine(255)] = None


class ImportProblem(Reply):
    """A row not imported: its physical line in the file (header = 1) and why."""

    line: int
    reason: str


class AdvocateImportReply(Reply):
    """An advocates import job and its progress; `errors` grows as rows are processed."""

    id: int
    filename: str
    status: Literal["queued", "running", "done", "failed"]
    total_rows: int
    processed_rows: int
    percent: int
    invited: int
    skipped: int
    errors: list[ImportProblem]
    failure_reason: str | None


class MeReply(Reply):
    """The caller; advocates also get their advocate object."""

    id: int
    email: str
    name: str
    role: Role
    advocate: AdvocateReply | None = None


class NotificationReply(Reply):
    id: int
    kind: str
    text: str
    url: str | None
    created_at: Timestamp
    read_at: Timestamp | None


class NotificationPage(Page[NotificationReply]):
    unread: int


class NotificationsRead(Reply):
    marked: int
    unread: int


# --- privacy: export and erasure (api.md "Endpoints of the second release", product.md §12) ---


class ExportReply(Reply):
    """Everything Vouch holds about the caller. The sections are written by the packages that hold
    the data (hub.hooks.PersonalData); each list is rows of plain JSON values (times ISO 8601 UTC).
    A package that adds a section adds it here too, so the document stays the published one."""

    exported_at: Timestamp
    profile: dict[str, Any]
    preferences: dict[str, Any]
    consent: dict[str, Any]
    groups: list[str]
    ledger: list[dict[str, Any]]
    completions: list[dict[str, Any]]
    # the files sent as evidence: names, types, sizes, sha256 and times, not the bytes
    evidence_files: list[dict[str, Any]]
    redemptions: list[dict[str, Any]]
    referrals: list[dict[str, Any]]
    questions: list[dict[str, Any]]
    answers: list[dict[str, Any]]
    reference_requests: list[dict[str, Any]]
    notifications: list[dict[str, Any]]
    badges: list[dict[str, Any]]
    tier_history: list[dict[str, Any]]
    leaderboard_scores: list[dict[str, Any]]
    asks: list[dict[str, Any]]
    active_periods: list[dict[str, Any]]
    active_spells: list[dict[str, Any]]
    attribution: list[dict[str, Any]]
    answer_votes: list[dict[str, Any]]
    post_reports: list[dict[str, Any]]
    sessions: list[dict[str, Any]]
    api_tokens: list[dict[str, Any]]
    password_resets: list[dict[str, Any]]
    emails: list[dict[str, Any]]
    api_requests: list[dict[str, Any]]
    advocacy_score: list[dict[str, Any]]
    nominations: list[dict[str, Any]]


class EraseBody(Body):
    """`{confirm: true}`: erasure cannot be undone, so it is never the default. An owner acting
    on an emailed request may say whose (`requested_by`, kept in the audit log)."""

    confirm: Annotated[bool, Flag()] = False
    requested_by: Annotated[str | None, OneLine(200)] = None

    @model_validator(mode="after")
    def _confirmed(self) -> EraseBody:
        if self.confirm is not True:
            raise ValidationFailed({"confirm": ["Send confirm: true to erase the account; it cannot be undone."]})
        return self


class EraseReply(Reply):
    status: str


# --- people admin (owner): api.md `GET /users` · `PATCH /users/{id}` ----------------------------


class UserReply(Reply):
    id: int
    email: str
    name: str
    role: Role
    is_active: bool
    last_login_at: Timestamp | None


class UserPage(Page[UserReply]):
    pass


class UserListQuery(PageQuery):
    q: Annotated[str | None, OneLine(100)] = None


class UserChange(Body):
    """`{role?, is_active?}`: a field left out stays as it is."""

    role: Annotated[Role | None, OneOf(Role)] = None
    is_active: Annotated[bool | None, Flag()] = None


class InvitationReply(Reply):
    """An invitation as staff see it (issue 20): never its link, which only its person receives."""

    id: int
    email: str
    name: str | None
    role: Role
    state: InviteState
    invited_by: str | None
    created_at: Timestamp
    sent_at: Timestamp | None
    expires_at: Timestamp
    accepted_at: Timestamp | None
    revoked_at: Timestamp | None


class InvitationPage(Page[InvitationReply]):
    pass


class InvitationListQuery(PageQuery):
    """`?state=pending|accepted|expired|revoked` (all when left out), newest first."""

    state: Annotated[InviteState | None, OneOf(InviteState)] = None


class GroupReply(Reply):
    id: int
    name: str
    description: str | None
    members: int


class GroupList(Reply):
    items: list[GroupReply]


class GroupBody(Body):
    """`{name, description?}`: a name unique whatever its case."""

    name: Annotated[str, OneLine(80)]
    description: Annotated[str | None, OneLine(255)] = None


class GroupMembersBody(Body):
    """Add every advocate the advocates list shows for these filters (as `GET /advocates` takes
    them) to the group; no filter means every advocate."""

    q: Annotated[str | None, OneLine(100)] = None
    tier: Annotated[Tier | None, OneOf(Tier)] = None
    group: Annotated[str | None, OneLine(80)] = None
    persona: Annotated[Persona | None, OneOf(Persona)] = None
    last_active: Annotated[LastActive | None, OneOf(LastActive)] = None
    burnout: Annotated[Burnout | None, OneOf(Burnout)] = None
    trust_below: Annotated[int | None, WholeNumber(0, 101)] = None


class GroupMembersReply(Reply):
    added: int
    already: int


class AuditQuery(PageQuery):
    """`?actor=<user id, or 0 for the system>&action=<action>&from=&to=` (dates inclusive, UTC)
    and the page."""

    actor: Annotated[int | None, WholeNumber(0)] = None
    action: Annotated[str | None, OneLine(64)] = None
    since: Annotated[dt.date | None, IsoDate()] = Field(None, alias="from")
    until: Annotated[dt.date | None, IsoDate()] = Field(None, alias="to")


class AuditChange(Reply):
    """One field an action changed, its values as text ("" when absent)."""

    field: str
    before: str
    after: str


class AuditEntryReply(Reply):
    """Who (`actor_id`, `actor`: null for the system), what (`action`, its target), when, and
    the field-by-field `changes` (hub.audit.changes)."""

    id: int
    at: Timestamp
    actor_id: int | None
    actor: str | None
    action: str
    target_type: str | None
    target_id: str | None
    changes: list[AuditChange]


class AuditPage(Page[AuditEntryReply]):
    pass


# --- bulk actions on a staff queue (hub.bulk) ------------------------------------------------

BulkIds = Annotated[tuple[int, ...], ListOf(ROW_ID, max_items=MAX_BULK, message=f"A list of at most {MAX_BULK} ids.")]


class BulkFailureReply(Reply):
    """An item the rule refused: its id, the error code and message it would get on its own."""

    id: int
    code: str
    message: str


class BulkReply(Reply):
    """What a bulk action did: the ids done (in the order given) and each refused id with why."""

    done: list[int]
    failed: list[BulkFailureReply]

    @classmethod
    def of(cls, outcome: BulkOutcome) -> BulkReply:
        return cls(
            done=outcome.done,
            failed=[BulkFailureReply(id=f.id, code=f.code, message=f.message) for f in outcome.failed],
        )
