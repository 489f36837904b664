"""Advocate pages: the challenge feed, a challenge's page with its in-place submit form and
status chip, and the advocate's own preferences (caps, blackouts, reference availability)."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from markupsafe import Markup

from challenges import caps, review_rules, services
from challenges.catalogue import Entry
from challenges.forms import BlackoutForm, CompletionForm, PreferencesForm
from challenges.models import IN_FLIGHT, Completion, CompletionStatus
from challenges.services import evidence_files
from challenges.services.activity import recent_activity
from hub import uploads
from hub.auth import roles_required
from hub.errors import ValidationFailed, VouchError
from hub.fragments import render_fragment, render_now
from hub.htmx import apply_errors, is_htmx, refresh_parts, register_part
from hub.models import ALL_ROLES, Role
from hub.transactions import refusal_renders
from hub.uploads import accepts_upload
from rewards.celebration import celebration_for
from rewards.views import APPROVAL_PARTS

bp = Blueprint("challenges", __name__)

TARGETS = {"page": "#submit-area", "card": "#action-{id}"}


@bp.app_template_global("review_platforms")
def review_platforms() -> dict[str, str]:
    """The review platforms' display names (the challenge page and the editor's preview)."""
    return review_rules.PLATFORMS


def _advocate():
    return current_user.advocate


def status_response(completion: Completion, announce: bool, target: str = "page") -> Response:
    """The status chip; it polls while the job works. When it turns approved in front of the
    advocate, the chip carries the celebration (points counting up, the tier bar moving, badges
    unveiled: static/js/celebrate.js), and the same response refreshes the header balance, the tier
    card, the badges card, the first steps and "Done by N advocates" out of band
    (hub.htmx.refresh_parts). When it turns rejected, the submit area
    comes back in its place — the reason, the tries left and the form again (or when the next
    try opens) — so a failed quiz can be retried without a reload."""
    if completion.status is CompletionStatus.REJECTED:
        context = _form_context(completion.challenge_id, target=target)
        latest = context["item"].latest
        if latest is not None and latest.id == completion.id:
            return make_response(render_template("challenges/_submit_area.html", **context))
    celebration = None
    if announce and completion.status is CompletionStatus.APPROVED and completion.decided_at is not None:
        points = completion.points_awarded or 0
        celebration = celebration_for(completion.advocate_id, points, completion.decided_at)
    response = make_response(
        render_template("challenges/_status.html", completion=completion, target=target, celebration=celebration)
    )
    if announce and completion.status is CompletionStatus.APPROVED:
        refresh_parts(response, (*APPROVAL_PARTS, "done", "getting-started"))
    return response


def _done_part(key: str | None) -> str | None:
    """ "Done by N advocates" on a challenge's page (a page part: hub.htmx.refresh_parts)."""
    if key is None or not key.isdigit():
        return None
    done = services.completion_stats([int(key)])[int(key)]["approved"]
    count = render_template("challenges/_done_count.html", done=done)
    return f'<span id="done-{int(key)}" hx-swap-oob="innerHTML">{count}</span>'


register_part("done", _done_part)


def _getting_started_part(_key: str | None) -> str:
    """The first steps again after an approval (ticked), or gone once both are done."""
    section = getting_started_section(current_user.advocate) if current_user.advocate is not None else None
    if section is None:
        return '<div id="getting-started" hx-swap-oob="delete"></div>'
    template, context = section
    return render_template(template, section=context, oob=True)


register_part("getting-started", _getting_started_part)


def _form_context(
    challenge_id: int, form: CompletionForm | None = None, error: str | None = None, target: str = "page"
) -> dict:
    challenge = services.visible_challenge(challenge_id, _advocate())
    item = services.feed_item(challenge, _advocate())
    return {
        "c": challenge,
        "item": item,
        "form": form or CompletionForm(),
        "error": error,
        "target": target if target in TARGETS else "page",
        "target_id": TARGETS.get(target, TARGETS["page"]).format(id=challenge.id),
        "files": services.files_for([h.id for h in item.history]),
    }


@bp.get("/challenges")
@roles_required(Role.ADVOCATE)
def feed_page():
    return render_template("challenges/feed.html", items=services.feed_for(_advocate()))


@bp.get("/challenges/<int:challenge_id>")
@roles_required(Role.ADVOCATE)
def challenge_page(challenge_id: int):
    context = _form_context(challenge_id)
    done = services.completion_stats([challenge_id])[challenge_id]["approved"]
    return render_template("challenges/challenge.html", done=done, **context)


@bp.get("/challenges/<int:challenge_id>/form")
@roles_required(Role.ADVOCATE)
def inline_form(challenge_id: int):
    """The submit form inside a hub card (htmx)."""
    context = _form_context(challenge_id, target="card")
    return render_template("challenges/_submit_area.html", **context)


def _submission_refused(exc: VouchError, challenge_id: int):
    """Field problems under their fields; any other refusal (cap reached, already submitted …)
    as the reason above the form, with the refusal's status for a plain POST."""
    if isinstance(exc, ValidationFailed):
        return _submit_area(challenge_id, apply_errors(CompletionForm(), exc), None, 422)
    return _submit_area(challenge_id, CompletionForm(), exc.message, exc.status)


@bp.post("/challenges/<int:challenge_id>/complete")
@roles_required(Role.ADVOCATE)
@refusal_renders(_submission_refused)
@accepts_upload(evidence_files.FIELD)
def complete(challenge_id: int):
    form = CompletionForm()
    data = {
        "evidence_url": form.evidence_url.data,
        "evidence_text": form.evidence_text.data,
        "answers": [
            request.form.get(f"answer-{n}", "") for n in range(services.MAX_QUESTIONS) if f"answer-{n}" in request.form
        ],
    }
    if not form.validate_on_submit():
        return _submit_area(challenge_id, form, None, 422)
    completion = services.submit_completion(challenge_id, _advocate().id, data, files=sent_files())
    if is_htmx():
        return status_response(completion, announce=True, target=request.form.get("target", "page"))
    if completion.status is CompletionStatus.APPROVED:
        flash(f"Approved — +{completion.points_awarded or 0:,} points. Thank you!", "success")
    elif completion.status is CompletionStatus.REJECTED:
        flash(f"Not approved: {completion.reason}", "error")
    else:
        flash("Thanks! We received it and are checking it now.", "success")
    return redirect(url_for("challenges.challenge_page", challenge_id=challenge_id))


def sent_files() -> list[services.SentFile]:
    """The files chosen in the form's file input (an empty input sends none), each read up to
    one byte past the upload limit."""
    return [
        services.SentFile(uploads.read_upload(f), f.filename)
        for f in request.files.getlist(evidence_files.FIELD)
        if f.filename or f.content_length
    ]


@bp.get("/completions/<int:completion_id>/evidence-file")
@roles_required(*ALL_ROLES)
@uploads.sandboxed
def evidence_file(completion_id: int):
    """The file sent with a completion, to staff (managers, owners) and the advocate whose
    completion it is; 404 to everyone else, as for a completion that has none."""
    if current_user.role in (Role.MANAGER, Role.OWNER):
        row, path = services.file_of(completion_id, None)
    elif current_user.role is Role.ADVOCATE and current_user.advocate is not None:
        row, path = services.file_of(completion_id, current_user.advocate.id)
    else:
        abort(404)
    return uploads.file_response(path, evidence_files.file_type(row), row.name, row.sha256)


@bp.app_template_global("file_accept")
def file_accept(challenge) -> str:
    """The file input's `accept` list for a challenge (the picker's hint; content decides)."""
    return evidence_files.accept_attribute(challenge)


@bp.app_template_global("file_help")
def file_help(challenge) -> str:
    """What a challenge's file input takes, in words, with the size limit."""
    return evidence_files.accepted_text(challenge)


@bp.app_template_filter("filesize")
def filesize(size: int) -> str:
    """A stored file's size as people read it ("1.2 MB", "38 KB")."""
    return uploads.size_text(size)


@bp.app_template_global("upload_limit_text")
def upload_limit_text() -> str:
    """The largest file an upload takes, as people read it ("10 MB")."""
    return uploads.size_text(uploads.max_bytes())


def _submit_area(challenge_id: int, form: CompletionForm, error: str | None, status: int):
    """Invalid or refused submissions: the form again with the reason (200 for htmx, see hub.htmx)."""
    target = request.form.get("target", "page")
    context = _form_context(challenge_id, form, error, target)
    if is_htmx():
        return render_template("challenges/_submit_area.html", **context)
    done = services.completion_stats([challenge_id])[challenge_id]["approved"]
    return render_template("challenges/challenge.html", done=done, **context), status


@bp.get("/completions/<int:completion_id>/status")
@roles_required(Role.ADVOCATE)
def completion_status(completion_id: int):
    completion = services.completion_for(completion_id, _advocate().id)
    return status_response(
        completion, announce=request.args.get("poll") == "1", target=request.args.get("target", "page")
    )


@bp.route("/me/preferences", methods=["GET", "POST"])
@roles_required(Role.ADVOCATE)
@refusal_renders(
    lambda exc: _preferences_page(apply_errors(PreferencesForm(), exc), BlackoutForm(formdata=None), False, 422)
)
def preferences():
    advocate = _advocate()
    form = _prefs_form() if request.method == "GET" else PreferencesForm()
    saved = False
    if form.validate_on_submit():
        services.save_preferences(
            advocate.id,
            services.PreferencesInput(
                tuple(form.activity_types.data or ()),
                bool(form.available_for_references.data),
                form.max_asks_per_quarter.data,
                bool(form.show_on_leaderboard.data),
            ),
        )
        saved = True
    return _preferences_page(
        form, BlackoutForm(formdata=None), saved, 422 if request.method == "POST" and not saved else 200
    )


def _prefs_form() -> PreferencesForm:
    advocate = _advocate()
    form = PreferencesForm(obj=advocate, formdata=None)
    form.activity_types.data = list((advocate.preferences or {}).get("activity_types") or [])
    return form


def _preferences_page(form: PreferencesForm, blackout_form: BlackoutForm, saved: bool, status: int = 200):
    from challenges.caps import parse_blackouts

    blackouts = parse_blackouts((_advocate().preferences or {}).get("blackouts"))
    context = {"form": form, "blackout_form": blackout_form, "saved": saved, "blackouts": blackouts}
    if is_htmx():
        template = (
            "challenges/_blackouts.html"
            if request.endpoint != "challenges.preferences"
            else ("challenges/_preferences_form.html")
        )
        return render_template(template, **context)
    return render_template("challenges/preferences.html", **context), status


@bp.post("/me/preferences/blackouts")
@roles_required(Role.ADVOCATE)
@refusal_renders(lambda exc: _preferences_page(_prefs_form(), apply_errors(BlackoutForm(), exc), False))
def add_blackout():
    form = BlackoutForm()
    if form.validate_on_submit():
        services.add_blackout(_advocate().id, form.start.data, form.end.data)
        form = BlackoutForm(formdata=None)
    return _preferences_page(_prefs_form(), form, False)


@bp.post("/me/preferences/blackouts/remove")
@roles_required(Role.ADVOCATE)
def remove_blackout():
    form = BlackoutForm()
    if form.validate_on_submit():
        services.remove_blackout(_advocate().id, form.start.data, form.end.data)
    return _preferences_page(_prefs_form(), BlackoutForm(formdata=None), False)


def break_section(advocate) -> tuple[str, dict] | None:
    """While a break applies, the hub says so first: until when, and what it pauses."""
    on_break = caps.current_break(advocate)
    return ("challenges/_on_break.html", {"on_break": on_break}) if on_break is not None else None


def _feed(advocate) -> list[services.FeedItem]:
    """The advocate's feed, computed once per request (two home sections read it)."""
    if getattr(g, "vouch_feed_for", None) != advocate.id:
        g.vouch_feed = services.feed_for(advocate)
        g.vouch_feed_for = advocate.id
    feed: list[services.FeedItem] = g.vouch_feed
    return feed


CARD_TEMPLATE = "challenges/_card.html"


def _card(item: services.FeedItem) -> Markup:
    """One "For you" card. Rendered once per process for a catalogue entry and what the card
    shows of the advocate's state (hub.fragments): most advocates see the same card. A card whose
    latest completion is still being checked polls its status: rendered every time."""
    latest = item.latest.status if item.latest is not None else None
    if not isinstance(item.challenge, Entry) or latest in IN_FLIGHT:
        return render_now(CARD_TEMPLATE, {"item": item})
    key = (item.available, item.lock_code, item.locked_reason, latest)
    return render_fragment(CARD_TEMPLATE, key, {"item": item}, anchor=item.challenge)


def for_you_section(advocate) -> tuple[str, dict] | None:
    """The "For you" cards on the advocate's hub page (a home section, hub.hooks)."""
    items = _feed(advocate)[:6]
    return "challenges/_for_you.html", {"items": items, "cards": [_card(item) for item in items]}


PROFILE_STEP_FIELDS = ("title", "company", "time_zone")


def getting_started_section(advocate) -> tuple[str, dict] | None:
    """A new advocate's first steps on the hub (issue 19), instead of an empty hub: complete the
    profile (title, company, time zone) and take a first challenge — the welcome challenge,
    i.e. the easiest one open to them now (low effort, self-service, fewest points, oldest).
    Gone once the profile is complete and a first completion is approved."""
    profile_done = all(getattr(advocate, key) for key in PROFILE_STEP_FIELDS)
    feed = _feed(advocate)
    # An approval of a challenge in the feed answers without a query (the feed counts them).
    first_done = any(item.times_done for item in feed) or services.has_approved_completion(advocate.id)
    if profile_done and first_done:
        return None
    easy = [item for item in feed if item.available and item.type.self_service and item.challenge.effort.value == "low"]
    welcome = min(easy, key=lambda item: (item.challenge.points, item.challenge.id), default=None)
    return "challenges/_getting_started.html", {
        "profile_done": profile_done,
        "missing": [key.replace("_", " ") for key in PROFILE_STEP_FIELDS if not getattr(advocate, key)],
        "first_done": first_done,
        "welcome": welcome,
    }


def program_activity_section(advocate) -> tuple[str, dict] | None:
    """The program's activity this week on the advocate's hub page (a home section, hub.hooks)."""
    return "challenges/_program_activity.html", {"activity": recent_activity(advocate.id)}
