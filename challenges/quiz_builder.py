"""The challenge editor's quiz builder: questions as structured form fields, read back into the
stored quiz shape (api.md's `quiz`: `{questions: [{prompt, options, answer}], pass_mark}`).

Field names, N the question's and M the option's position on the page (the script renumbers
them after every move; gaps are allowed, the order of the numbers is the order of the quiz):

- `questions-N-prompt`: the question;
- `questions-N-options-M`: an option (blank options are dropped);
- `questions-N-correct`: M of the right option (graded quizzes only, a radio button).

Without scripts the builder's buttons submit the form with `quiz_op` (apply_op) and the editor
comes back with the change made and nothing saved.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from challenges.services import MAX_QUESTIONS
from challenges.services.definitions import MAX_OPTIONS

PROMPT_MAX = 500  # QuizQuestion.prompt
OPTION_MAX = 200  # QuizQuestion.options' items
_INDEX_MAX = 999  # field numbers above this are not a builder's (ignored)
_PROMPT = re.compile(r"^questions-(\d{1,3})-prompt$")
_OPTION = re.compile(r"^questions-(\d{1,3})-options-(\d{1,3})$")

MESSAGES = {
    "prompt": "Write the question, or remove it.",
    "prompt_long": f"A question is at most {PROMPT_MAX} characters.",
    "option_long": f"An option is at most {OPTION_MAX} characters.",
    "options": "A quiz question needs at least two options.",
    "too_many_options": f"At most {MAX_OPTIONS} options per question.",
    "correct": "Choose the right option.",
    "questions": f"At most {MAX_QUESTIONS} questions.",
    "none": "Add at least one question.",
}


@dataclass
class QuizRow:
    """One question as the builder shows it: its text, its options (blank ones included while
    editing), the position of the right option, and its problems by part (prompt, options, correct)."""

    prompt: str = ""
    options: list[str] = field(default_factory=lambda: ["", ""])
    correct: int | None = None
    errors: dict[str, str] = field(default_factory=dict)

    def is_blank(self) -> bool:
        return not self.prompt.strip() and not any(o.strip() for o in self.options)


def rows_from_form(formdata: Mapping[str, Any]) -> list[QuizRow]:
    """The builder's fields (a request's form) as rows, in the order of their numbers."""
    prompts: dict[int, str] = {}
    options: dict[int, dict[int, str]] = {}
    for key in formdata:
        if match := _PROMPT.match(key):
            prompts[int(match[1])] = str(formdata.get(key) or "")
        elif match := _OPTION.match(key):
            options.setdefault(int(match[1]), {})[int(match[2])] = str(formdata.get(key) or "")
    rows = []
    for n in sorted(set(prompts) | set(options)):
        if n > _INDEX_MAX:
            continue
        numbered = sorted(options.get(n, {}).items())
        correct_raw = str(formdata.get(f"questions-{n}-correct") or "")
        correct = next((pos for pos, (m, _) in enumerate(numbered) if str(m) == correct_raw), None)
        rows.append(QuizRow(prompts.get(n, ""), [text for _, text in numbered], correct))
    return rows


def rows_from_quiz(quiz: Mapping[str, Any] | None) -> list[QuizRow]:
    """A stored quiz as the builder's rows (editing an existing challenge)."""
    return [
        QuizRow(str(q.get("prompt") or ""), [str(o) for o in q.get("options") or []], q.get("answer"))
        for q in (quiz or {}).get("questions") or []
    ]


def apply_op(rows: list[QuizRow], op: str) -> list[QuizRow]:
    """One builder button without scripts: `add`, `up-N`, `down-N`, `remove-N`, `add-option-N`,
    `remove-option-N-M` (N, M positions from 0). An unknown or out-of-range op changes nothing."""
    rows = list(rows)
    parts = op.split("-")
    numbers = [int(p) for p in parts if p.isdigit() and len(p) <= 3]
    name = "-".join(p for p in parts if not p.isdigit())
    if name == "add" and len(rows) < MAX_QUESTIONS:
        rows.append(QuizRow())
    elif name in ("up", "down", "remove", "add-option") and len(numbers) == 1 and 0 <= numbers[0] < len(rows):
        n = numbers[0]
        if name == "up" and n > 0:
            rows[n - 1], rows[n] = rows[n], rows[n - 1]
        elif name == "down" and n < len(rows) - 1:
            rows[n], rows[n + 1] = rows[n + 1], rows[n]
        elif name == "remove":
            del rows[n]
        elif name == "add-option" and len(rows[n].options) < MAX_OPTIONS:
            rows[n].options.append("")
    elif name == "remove-option" and len(numbers) == 2 and 0 <= numbers[0] < len(rows):
        row = rows[numbers[0]]
        m = numbers[1]
        if 0 <= m < len(row.options):
            del row.options[m]
            if row.correct == m:
                row.correct = None
            elif row.correct is not None and row.correct > m:
                row.correct -= 1
    return rows


def quiz_from_rows(
    rows: list[QuizRow], *, graded: bool, pass_mark: int | None
) -> tuple[dict[str, Any] | None, str | None]:
    """The rows as the stored quiz shape, checking each row (its problems go in `row.errors`).
    Blank rows are skipped; blank options dropped. A graded quiz needs two options and the right
    one per question. Returns (quiz or None when there are no questions or a row has problems,
    a problem of the whole quiz — too many questions — or None)."""
    questions = []
    for row in rows:
        row.errors = {}
        if row.is_blank():
            continue
        kept = [(m, o.strip()) for m, o in enumerate(row.options) if o.strip()]
        if not row.prompt.strip():
            row.errors["prompt"] = MESSAGES["prompt"]
        elif len(row.prompt.strip()) > PROMPT_MAX:
            row.errors["prompt"] = MESSAGES["prompt_long"]
        if any(len(o) > OPTION_MAX for _, o in kept):
            row.errors["options"] = MESSAGES["option_long"]
        elif len(kept) > MAX_OPTIONS:
            row.errors["options"] = MESSAGES["too_many_options"]
        elif graded and len(kept) < 2:
            row.errors["options"] = MESSAGES["options"]
        answer = next((pos for pos, (m, _) in enumerate(kept) if m == row.correct), None)
        if graded and answer is None and "options" not in row.errors:
            row.errors["correct"] = MESSAGES["correct"]
        questions.append(
            {"prompt": row.prompt.strip(), "options": [o for _, o in kept], "answer": answer if graded else None}
        )
    if len(questions) > MAX_QUESTIONS:
        return None, MESSAGES["questions"]
    if any(row.errors for row in rows) or not questions:
        return None, None
    return {"questions": questions, "pass_mark": pass_mark if graded else None}, None
