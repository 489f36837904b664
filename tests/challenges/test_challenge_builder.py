"""The challenge editor by type (issue 20): each type's field set (verifiers.field_names_for),
unused fields dropped on save, the quiz builder's fields and their messages, the question
picker (hidden questions never offered nor accepted), and the preview card."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from challenges import quiz_builder, services, verifiers
from challenges.models import Challenge
from challenges.services import MAX_QUESTIONS
from hub.community import services as community_services
from hub.community.reads import pickable_questions
from hub.errors import ValidationFailed
from hub.extensions import db

HX = {"HX-Request": "true"}
BASE = {"title": "Try it", "points": "50", "max_per_advocate": "1", "cooldown_days": "0"}


def quiz_fields(*questions: tuple[str, list[str], int | None]) -> dict[str, str]:
    """The builder's fields for (prompt, options, right option or None) questions."""
    data = {}
    for n, (prompt, options, correct) in enumerate(questions):
        data[f"questions-{n}-prompt"] = prompt
        for m, option in enumerate(options):
            data[f"questions-{n}-options-{m}"] = option
        if correct is not None:
            data[f"questions-{n}-correct"] = str(correct)
    return data


# --- each type's field set ---------------------------------------------------------------------

EXPECTED_FIELDS = {
    "review": {"platform", "disclosure", "allowed_domains", "marker"},
    "social_share": {"allowed_domains", "marker"},
    "community_answer": {"question_id"},
    "quiz": {"quiz", "pass_mark"},
    "survey": {"quiz"},
    "referral": {"bonus_points"},
    "reference_call": set(),
    "webinar": set(),
    "case_study": set(),
    "speaking": set(),
    "advisory_board": set(),
    "photo": {"file_kinds"},
    "custom": set(),
}


@pytest.mark.parametrize("ctype", sorted(EXPECTED_FIELDS))
def test_each_type_uses_its_own_fields(ctype):
    assert set(verifiers.TYPES) == set(EXPECTED_FIELDS)
    assert verifiers.field_names_for(ctype) == EXPECTED_FIELDS[ctype]


def test_fields_follow_a_chosen_verification_and_evidence():
    assert verifiers.field_names_for("custom", "url_check") == {"allowed_domains", "marker"}
    assert verifiers.field_names_for("custom", None, ["answers"]) == {"quiz"}
    assert verifiers.field_names_for("review", "manual") == {"platform", "disclosure"}
    assert "Quiz" in verifiers.used_by("pass_mark") and "Survey" not in verifiers.used_by("pass_mark")


def test_editor_map_is_the_registry_as_data():
    data = verifiers.editor_field_map()
    assert data["types"]["quiz"] == {
        "effort": "low",
        "verification": "auto",
        "evidence": ["answers"],
        "fields": ["pass_mark"],
    }
    assert data["verifiers"]["url_check"] == ["allowed_domains", "marker"]
    assert data["evidence"] == {"answers": ["quiz"], "file": ["file_kinds"]}


def test_fields_a_type_does_not_use_are_not_stored(as_role):
    client = as_role("manager")
    sent = BASE | {
        "type": "custom",
        "allowed_domains": "g2.com",
        "marker": "Acme",
        "bonus_points": "500",
        "platform": "g2",
        "disclosure": "I got points",
        **quiz_fields(("Q?", ["a", "b"], 1)),
    }
    assert client.post("/admin/challenges/new", data=sent).status_code == 302
    stored = db.session.scalar(select(Challenge))
    assert (stored.allowed_domains, stored.marker, stored.bonus_points, stored.quiz) == ([], None, 0, None)
    assert (stored.platform, stored.disclosure, stored.question_id) == (None, None, None)


def test_the_service_drops_unused_fields_for_the_api_too(ctx):
    inp = services.clean_challenge(
        {"title": "Share", "type": "webinar", "points": 5, "marker": "Acme", "bonus_points": 9, "question_id": 1}
    )
    assert (inp.marker, inp.bonus_points, inp.question_id) == (None, 0, None)
    kept = services.clean_challenge({"title": "Refer", "type": "referral", "points": 5, "bonus_points": 9})
    assert kept.bonus_points == 9


def test_new_editor_without_scripts_shows_every_group_with_its_users(as_role):
    html = as_role("manager").get("/admin/challenges/new").get_data(as_text=True)
    for legend in ("Review site and disclosure", "Link check", "Questions", "Community question", "Referral bonus"):
        assert f"<legend>{legend}</legend>" in html
    assert "Used by: Review, Social share." in html and "Used by: Community answer." in html
    assert 'data-field-map="' in html and "js/editor.js" in html


# --- the quiz builder --------------------------------------------------------------------------


def test_rows_are_read_in_the_order_of_their_numbers_with_gaps():
    form = {
        "questions-10-prompt": "Third",
        "questions-2-prompt": "First",
        "questions-2-options-5": "y",
        "questions-2-options-1": "x",
        "questions-2-correct": "5",
        "questions-7-prompt": "Second",
    }
    rows = quiz_builder.rows_from_form(form)
    assert [r.prompt for r in rows] == ["First", "Second", "Third"]
    assert rows[0].options == ["x", "y"] and rows[0].correct == 1
    quiz, problem = quiz_builder.quiz_from_rows(rows, graded=False, pass_mark=None)
    assert problem is None and quiz == {
        "questions": [
            {"prompt": "First", "options": ["x", "y"], "answer": None},
            {"prompt": "Second", "options": [], "answer": None},
            {"prompt": "Third", "options": [], "answer": None},
        ],
        "pass_mark": None,
    }


def test_blank_rows_and_options_are_dropped_and_the_answer_follows():
    rows = quiz_builder.rows_from_form(
        quiz_fields(("", ["", ""], None), ("Pick", ["", "a", " ", "b"], 3), ("", [], None))
    )
    quiz, _ = quiz_builder.quiz_from_rows(rows, graded=True, pass_mark=1)
    assert quiz == {"questions": [{"prompt": "Pick", "options": ["a", "b"], "answer": 1}], "pass_mark": 1}


@pytest.mark.parametrize(
    ("question", "part", "message"),
    [
        (("", ["a", "b"], 0), "prompt", "Write the question, or remove it."),
        (("Q", ["only one"], 0), "options", "A quiz question needs at least two options."),
        (("Q", ["a", "b"], None), "correct", "Choose the right option."),
        (("Q", ["a", "b", ""], 2), "correct", "Choose the right option."),
        (("x" * 501, ["a", "b"], 0), "prompt", "A question is at most 500 characters."),
        (("Q", ["a", "b" * 201], 0), "options", "An option is at most 200 characters."),
        (("Q", [str(m) for m in range(11)], 0), "options", "At most 10 options per question."),
    ],
)
def test_each_bad_question_has_its_message(question, part, message):
    rows = quiz_builder.rows_from_form(quiz_fields(("Fine", ["a", "b"], 0), question))
    quiz, problem = quiz_builder.quiz_from_rows(rows, graded=True, pass_mark=None)
    assert quiz is None and problem is None
    assert rows[0].errors == {} and rows[1].errors == {part: message}


def test_a_survey_needs_no_options_nor_answer():
    rows = quiz_builder.rows_from_form(quiz_fields(("Why?", [], None), ("Which?", ["a"], None)))
    quiz, problem = quiz_builder.quiz_from_rows(rows, graded=False, pass_mark=None)
    assert problem is None and [q["options"] for q in quiz["questions"]] == [[], ["a"]]


def test_too_many_questions():
    many = [(f"Q{n}", ["a", "b"], 0) for n in range(MAX_QUESTIONS + 1)]
    quiz, problem = quiz_builder.quiz_from_rows(
        quiz_builder.rows_from_form(quiz_fields(*many)), graded=True, pass_mark=None
    )
    assert quiz is None and problem == f"At most {MAX_QUESTIONS} questions."


def test_ops_without_scripts_add_move_and_remove():
    rows = quiz_builder.rows_from_form(quiz_fields(("A", ["1", "2"], 0), ("B", ["3", "4"], 1), ("C", ["5", "6"], 0)))
    rows = quiz_builder.apply_op(rows, "up-2")
    assert [r.prompt for r in rows] == ["A", "C", "B"]
    rows = quiz_builder.apply_op(rows, "down-0")
    assert [r.prompt for r in rows] == ["C", "A", "B"]
    rows = quiz_builder.apply_op(rows, "remove-1")
    assert [r.prompt for r in rows] == ["C", "B"]
    rows = quiz_builder.apply_op(rows, "remove-option-1-0")
    assert (rows[1].options, rows[1].correct) == (["4"], 0)
    rows = quiz_builder.apply_op(rows, "add-option-1")
    rows = quiz_builder.apply_op(rows, "add")
    assert rows[1].options == ["4", ""] and len(rows) == 3 and rows[2].is_blank()
    for nonsense in ("up-0", "down-2", "remove-9", "explode", "up-", "remove-option-0-7", "up-1234"):
        assert [r.prompt for r in quiz_builder.apply_op(rows, nonsense)] == ["C", "B", ""]


def test_editor_builds_saves_and_reopens_a_quiz_in_order(as_role):
    client = as_role("manager")
    sent = BASE | {"type": "quiz", "pass_mark": "2"}
    sent |= quiz_fields(("2+2?", ["3", "4"], 1), ("Sky?", ["blue", "green", "red"], 0), ("Sea?", ["wet", "dry"], 0))
    assert client.post("/admin/challenges/new", data=sent).status_code == 302
    challenge = db.session.scalar(select(Challenge))
    assert [q["prompt"] for q in challenge.quiz["questions"]] == ["2+2?", "Sky?", "Sea?"]
    assert challenge.quiz["pass_mark"] == 2 and challenge.quiz["questions"][1]["options"] == ["blue", "green", "red"]
    html = client.get(f"/admin/challenges/{challenge.id}/edit").get_data(as_text=True)
    assert html.index('value="2+2?"') < html.index('value="Sky?"') < html.index('value="Sea?"')
    assert 'name="questions-1-options-2" value="red"' in html
    assert 'name="questions-0-correct" value="1" data-quiz-correct checked' in html


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (quiz_fields(("", ["a", "b"], 0)), "Write the question, or remove it."),
        (quiz_fields(("Q", ["a"], 0)), "A quiz question needs at least two options."),
        (quiz_fields(("Q", ["a", "b"], None)), "Choose the right option."),
        (quiz_fields(("Q", ["a", "b"], 0)) | {"pass_mark": "2"}, "The pass mark is a whole number from 1 to 1."),
    ],
)
def test_editor_shows_each_quiz_error_by_its_field_and_saves_nothing(as_role, extra, message):
    client = as_role("manager")
    response = client.post("/admin/challenges/new", data=BASE | {"type": "quiz"} | extra)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and message in html
    field_id = (
        "pass_mark-err"
        if "pass_mark" in extra
        else ("questions-0-prompt-err" if "Write" in message else "questions-0-options-err")
    )
    assert f'id="{field_id}"><li>{message}</li>' in html
    assert db.session.scalar(select(Challenge)) is None


def test_editor_op_buttons_work_without_scripts(as_role):
    client = as_role("manager")
    sent = BASE | {"type": "quiz"} | quiz_fields(("A", ["1", "2"], 0), ("B", ["3", "4"], 1))
    moved = client.post("/admin/challenges/new", data=sent | {"quiz_op": "up-1"})
    html = moved.get_data(as_text=True)
    assert moved.status_code == 200 and html.index('value="B"') < html.index('value="A"')
    assert 'name="questions-0-prompt" value="B"' in html and "Fix these" not in html
    assert db.session.scalar(select(Challenge)) is None


def test_preview_lists_builder_problems(as_role):
    client = as_role("manager")
    html = client.post(
        "/admin/challenges/preview", data=BASE | {"type": "quiz"} | quiz_fields(("Q", ["a"], 0)), headers=HX
    ).get_data(as_text=True)
    assert "Fix these to see the preview" in html and "question 1: A quiz question needs at least two options." in html


def test_api_quiz_shape_is_unchanged(api, make_user):
    staff = api(make_user("manager"))
    body = {
        "title": "Quiz",
        "type": "quiz",
        "points": 5,
        "quiz": {"questions": [{"prompt": "Q", "options": ["a", "b"], "answer": 1}], "pass_mark": 1},
    }
    made = staff.post("/challenges", body)
    assert made.status_code == 201 and made.json["quiz"] == body["quiz"]


# --- the question picker -----------------------------------------------------------------------


@pytest.fixture()
def questions(ctx, make):
    asker = make.advocate().user
    shown = community_services.ask_question(asker, "How do you onboard admins?", "Checklist?")
    other = community_services.ask_question(asker, "Best SSO setup", "Okta or Entra?")
    hidden = community_services.ask_question(asker, "How do you onboard spam?", "Buy now")
    community_services.set_hidden(make.user("manager"), "question", hidden.id, True, "Spam")
    db.session.commit()
    return {"shown": shown.id, "other": other.id, "hidden": hidden.id}


def test_picker_search_finds_visible_questions_by_title(questions):
    assert pickable_questions("ONBOARD") == [(questions["shown"], "How do you onboard admins?")]
    assert {qid for qid, _ in pickable_questions("")} == {questions["shown"], questions["other"]}
    assert pickable_questions("100%_") == []
    kept = pickable_questions("sso", include_id=questions["shown"])
    assert [qid for qid, _ in kept] == [questions["shown"], questions["other"]]
    assert pickable_questions("sso", include_id=questions["hidden"]) == [(questions["other"], "Best SSO setup")]


def test_picker_endpoint_returns_options_without_hidden_ones(as_role, questions):
    client = as_role("manager")
    html = client.get("/admin/challenges/questions?q=onboard", headers=HX).get_data(as_text=True)
    assert f'value="{questions["shown"]}"' in html and f'value="{questions["hidden"]}"' not in html
    chosen = client.get(f"/admin/challenges/questions?q=zzz&question_id={questions['other']}", headers=HX)
    assert f'<option value="{questions["other"]}" selected>' in chosen.get_data(as_text=True)
    # A query string never fails the page (hub.contracts.read_or_400): a bad id is left out.
    unfit = client.get("/admin/challenges/questions?q=sso&question_id=abc", headers=HX)
    assert unfit.status_code == 200 and f'value="{questions["other"]}"' in unfit.get_data(as_text=True)
    assert as_role("advocate").get("/admin/challenges/questions?q=x").status_code in (302, 403)


def test_picker_stores_the_id_and_refuses_hidden_or_unknown(as_role, questions):
    client = as_role("manager")
    base = BASE | {"type": "community_answer"}
    editor = client.get("/admin/challenges/new").get_data(as_text=True)
    assert "How do you onboard admins?" in editor and "How do you onboard spam?" not in editor
    for bad in (questions["hidden"], 999_999):
        refused = client.post("/admin/challenges/new", data=base | {"question_id": str(bad)})
        html = refused.get_data(as_text=True)
        assert refused.status_code == 422
        assert f'id="question_id-err"><li>No visible community question has the id {bad}.</li>' in html
    assert client.post("/admin/challenges/new", data=base | {"question_id": str(questions["shown"])}).status_code == 302
    challenge = db.session.scalar(select(Challenge))
    assert challenge.question_id == questions["shown"]
    reopened = client.get(f"/admin/challenges/{challenge.id}/edit").get_data(as_text=True)
    assert f'<option value="{questions["shown"]}" selected>' in reopened


def test_api_refuses_a_hidden_question(ctx, questions):
    with pytest.raises(ValidationFailed) as refused:
        services.clean_challenge(
            {"title": "Answer", "type": "community_answer", "points": 5, "question_id": questions["hidden"]}
        )
    assert refused.value.fields == {"question_id": [f"No visible community question has the id {questions['hidden']}."]}


# --- duplicate and preview ---------------------------------------------------------------------


def test_duplicate_carries_the_type_fields(ctx, make, questions):
    manager = make.user("manager")
    quiz = {"questions": [{"prompt": "Q", "options": ["a", "b"], "answer": 0}], "pass_mark": 1}
    originals = [
        services.create_challenge(
            services.clean_challenge({"title": "Q", "type": "quiz", "points": 5, "quiz": quiz}), manager.id
        ),
        services.create_challenge(
            services.clean_challenge(
                {"title": "A", "type": "community_answer", "points": 5, "question_id": questions["shown"]}
            ),
            manager.id,
        ),
        services.create_challenge(
            services.clean_challenge({"title": "R", "type": "review", "points": 5, "platform": "g2", "marker": "Acme"}),
            manager.id,
        ),
    ]
    for original in originals:
        copy = services.duplicate_challenge(original.id, manager.id)
        for name in ("quiz", "question_id", "platform", "disclosure", "allowed_domains", "marker", "bonus_points"):
            assert getattr(copy, name) == getattr(original, name), name


def test_preview_is_the_hub_card_with_review_disclosure(as_role):
    client = as_role("manager")
    html = client.post(
        "/admin/challenges/preview",
        data=BASE | {"type": "review", "platform": "g2", "banner": "stars", "effort": "medium"},
        headers=HX,
    ).get_data(as_text=True)
    assert 'data-testid="challenge-card"' in html and "banner-stars" in html and "+50 pts" in html
    assert "1–2 hours" in html and 'data-testid="review-disclosure"' in html
