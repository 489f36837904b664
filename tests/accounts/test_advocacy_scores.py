"""The advocacy score (product.md §2) row by row at every threshold's edge, the CSV import
(physical line numbers, bad rows reported while good rows import, re-import updates), the
candidates list, invitations and the funnel."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from challenges.prospects import candidates, scores
from challenges.prospects.models import AdvocacyScore
from hub.errors import InvalidState, ValidationFailed
from hub.extensions import db
from hub.fields import read_row
from hub.models import Invite

HEADER = "email,name,company,nps,feature_adoption_pct,health_score,tenure_months,social_mentions,responded_before"
NOTHING = {"nps": "0", "feature_adoption_pct": "0", "health_score": "0", "tenure_months": "0", "social_mentions": "0"}


def scored(**signals) -> scores.Scored:
    row = {"email": "c@acme.io", "name": "C"} | NOTHING | {k: str(v) for k, v in signals.items()}
    return scores.score(read_row(scores.ScoreRow, row))


@pytest.mark.parametrize(
    ("signals", "points"),
    [
        ({}, 0),
        ({"nps": 8}, 0),
        ({"nps": 9}, 25),
        ({"nps": 10}, 25),
        ({"feature_adoption_pct": 70}, 0),
        ({"feature_adoption_pct": 70.01}, 20),
        ({"feature_adoption_pct": 71}, 20),
        ({"health_score": 80}, 0),
        ({"health_score": 81}, 20),
        ({"tenure_months": 12}, 0),
        ({"tenure_months": 13}, 15),
        ({"social_mentions": 0}, 0),
        ({"social_mentions": 1}, 10),
        ({"responded_before": "false"}, 0),
        ({"responded_before": "yes"}, 10),
        (
            {
                "nps": 10,
                "feature_adoption_pct": 100,
                "health_score": 100,
                "tenure_months": 60,
                "social_mentions": 9,
                "responded_before": "true",
            },
            100,
        ),
    ],
)
def test_each_signal_scores_only_past_its_threshold(signals, points):
    assert scored(**signals).score == points


@pytest.mark.parametrize(
    ("signals", "qualified"),
    [
        # 25 + 20 + 15 = 60: not more than 60
        ({"nps": 9, "health_score": 81, "tenure_months": 13}, False),
        # 25 + 20 + 15 + 10 = 70
        ({"nps": 9, "health_score": 81, "tenure_months": 13, "social_mentions": 1}, True),
        ({"nps": 9, "feature_adoption_pct": 71, "health_score": 81}, True),  # 65
    ],
)
def test_qualified_means_more_than_60(signals, qualified):
    assert scored(**signals).qualified is qualified


def test_reasons_name_the_signals_that_scored():
    assert scored(nps=9, responded_before="1").reasons == ("NPS 9", "responded before")


def _import(make, text: str, user=None):
    user = user or make.user("owner")
    job = scores.start_import("scores.csv", text.encode(), user.id, run_now=True)
    db.session.commit()
    return job


@pytest.mark.parametrize("batch", [1, 2, 3, 1000])
def test_import_reports_bad_rows_by_physical_line_and_imports_the_good(ctx, make, monkeypatch, batch):
    # each batch starts at the offset where the previous one stopped: the line numbers, counts
    # and rows are the same whatever the batch size (a batch boundary inside the file included)
    monkeypatch.setattr(scores, "BATCH", batch)
    text = "\n".join(
        [
            HEADER,
            "ada@acme.io,Ada,Acme,10,80,90,24,2,true",  # line 2: 100
            "not-an-email,Bob,Acme,9,,,,,",  # line 3
            "",  # line 4: blank, skipped
            'cy@acme.io,"Cy ""the quoted""",Acme,11,,,,,',  # line 5: nps out of range
            'dee@globex.com,Dee,"Globex,',  # line 6: a quoted cell over two lines
            'Inc",5,50,50,3,0,no',  # line 7
            "eve@acme.io,Eve,Acme,9,75,,,,",  # line 8: 45
        ]
    )
    job = _import(make, text)
    assert (job.imported_count, job.updated_count) == (2, 0)
    # a company is one-line text (issue 12): the two-line cell is refused where its record starts
    assert [line for line, _ in job.errors] == [3, 5, 6]
    assert "email" in job.errors[0][1] and "nps" in job.errors[1][1] and "company" in job.errors[2][1]
    stored = db.session.scalars(select(AdvocacyScore.email).order_by(AdvocacyScore.email)).all()
    assert stored == ["ada@acme.io", "eve@acme.io"]
    assert job.status.value == "done" and job.percent == 100


def test_reimport_updates_the_row_for_the_same_email(ctx, make):
    _import(make, f"{HEADER}\nada@acme.io,Ada,Acme,6,,,,,\n")
    again = _import(make, f"{HEADER}\nADA@acme.io,Ada L.,Acme,10,80,90,,,\nnew@acme.io,New,Acme,,,,,,\n")
    assert (again.imported_count, again.updated_count) == (1, 1)
    row = db.session.scalar(select(AdvocacyScore).where(AdvocacyScore.email == "ada@acme.io"))
    assert (row.name, row.score, row.qualified) == ("Ada L.", 65, True)
    assert db.session.scalar(select(func.count()).select_from(AdvocacyScore)) == 2


def test_a_file_without_the_email_column_is_refused_whole(ctx, make):
    with pytest.raises(ValidationFailed) as refused:
        scores.start_import("x.csv", b"name,nps\nAda,10\n", make.user("owner").id, run_now=True)
    assert "email" in refused.value.fields["file"][0]
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(AdvocacyScore)) == 0


def test_candidates_best_first_with_status_and_one_invitation_each(ctx, make):
    owner = make.user("owner")
    existing = make.advocate(email="joined@acme.io")
    _import(
        make,
        f"{HEADER}\nlow@acme.io,Low,Acme,9,,,,,\ntop@acme.io,Top,Acme,10,80,90,24,2,true\n"
        f"{existing.user.email},Joined,Acme,10,80,90,24,,\n",
        owner,
    )
    rows, total = candidates.candidates()
    assert total == 3 and [r.score.email for r in rows] == ["top@acme.io", "joined@acme.io", "low@acme.io"]
    assert [r.status for r in rows] == ["new", "joined", "new"]
    assert rows[1].advocate_id == existing.id
    qualified, n = candidates.candidates(qualified_only=True)
    assert n == 2 and {r.score.email for r in qualified} == {"top@acme.io", "joined@acme.io"}

    top = rows[0].score
    candidates.invite(top.id, owner.id)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Invite).where(Invite.email == "top@acme.io")) == 1
    with pytest.raises(InvalidState):
        candidates.invite(top.id, owner.id)
    db.session.rollback()
    with pytest.raises(InvalidState):
        candidates.invite(rows[1].score.id, owner.id)
    db.session.rollback()
    many = candidates.invite_many([top.id, rows[2].score.id, rows[1].score.id], owner.id)
    db.session.commit()
    assert many.invited == [rows[2].score.id] and [c for c, _ in many.skipped] == [top.id, rows[1].score.id]
    assert candidates.funnel() == candidates.Funnel(qualified=2, invited=1, joined=1, first_act=0)


@pytest.mark.parametrize("bad", ["abc", "80%", "-5", "100.5", "inf", "NaN", "1e400", "true"])
def test_a_bad_percentage_is_reported_in_the_program_s_words(bad):
    """The per-line report once showed pydantic's wording ("Input should be a valid number,
    unable to parse string as a number", "Input should be a finite number")."""
    row = {"email": "c@acme.io", "name": "C", "feature_adoption_pct": bad, "health_score": bad}
    with pytest.raises(ValidationFailed) as refused:
        read_row(scores.ScoreRow, row)
    fields = refused.value.fields
    assert fields == {
        "feature_adoption_pct": ["Must be a number from 0 to 100."],
        "health_score": ["Must be a number from 0 to 100."],
    }


@pytest.mark.parametrize(("given", "kept"), [("0", 0.0), ("70.01", 70.01), (" 100 ", 100.0), ("", None), (55, 55.0)])
def test_a_percentage_reads_plain_numbers_and_blanks(given, kept):
    row = read_row(scores.ScoreRow, {"email": "c@acme.io", "name": "C", "feature_adoption_pct": given})
    assert row.feature_adoption_pct == kept
