"""PostgreSQL: two imports of the same score file at once leave one row per email (the upsert
on the unique email), both imports finish, and the counts add up (each email created by one
import and updated by the other, or created once and updated once by the same file's rows)."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select, text

from challenges.prospects import scores
from challenges.prospects.models import AdvocacyScore, ScoreImport
from hub.extensions import db
from tests.support.threads import run_together

HEADER = "email,name,company,nps,feature_adoption_pct,health_score,tenure_months,social_mentions,responded_before"
N = 3000


def _line(i: int) -> str:
    signals = f"{i % 11},{i % 101},{i % 100},{i % 30},{i % 3},{i % 2}"
    return f"person{i}@company{i % 97}.com,Person {i},Company {i % 97},{signals}"


@pytest.mark.services
@pytest.mark.multi_connection  # two threads commit on their own connections
def test_two_parallel_imports_of_one_file_give_one_row_per_email(pg_app, make):
    body = "\n".join([HEADER] + [_line(i) for i in range(N)])
    with pg_app.app_context():
        db.session.execute(text("TRUNCATE advocacy_scores, score_imports CASCADE"))
        db.session.commit()
        owner_id = make.user("owner").id

    def run(_: int) -> str:
        with pg_app.app_context():
            try:
                scores.start_import("same.csv", body.encode(), owner_id, run_now=True)
                db.session.commit()
                return "ok"
            finally:
                db.session.remove()

    assert run_together(2, run) == Counter({"ok": 2})
    with pg_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AdvocacyScore)) == N
        assert db.session.scalar(select(func.count(func.distinct(AdvocacyScore.email)))) == N
        jobs = db.session.scalars(select(ScoreImport)).all()
        assert [j.status.value for j in jobs] == ["done", "done"]
        assert sum(j.imported_count + j.updated_count for j in jobs) == 2 * N
        # each row says whether it created (RETURNING xmax = 0): every email created exactly once
        assert sum(j.imported_count for j in jobs) == N
        # person7: nps 7, adoption 7, health 7, tenure 7 score nothing; 1 mention + responded = 20
        # person10: nps 10 → 25, 1 mention → 10 = 35
        got = dict(db.session.execute(select(AdvocacyScore.email, AdvocacyScore.score)).all())
        assert (got["person7@company7.com"], got["person10@company10.com"]) == (20, 35)
        db.session.remove()
