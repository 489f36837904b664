"""Settings are read in one query per request or job, and a job never sees an older job's cache."""

from __future__ import annotations

import pytest

from hub.extensions import db
from hub.queue import job_context
from hub.settings import get_setting, save_setting


def test_several_settings_in_one_request_cost_one_query(app, sql_statements):
    save_setting("program_name", "Acme Champions", None)
    db.session.commit()
    with app.test_request_context("/"):
        sql_statements.clear()
        assert get_setting("program_name") == "Acme Champions"
        assert get_setting("tier_thresholds") == {"silver": 1000, "gold": 5000}
        assert get_setting("caps_policy")["asks_per_365_days"] == 4
        assert len([s for s in sql_statements if "FROM settings" in s]) == 1


def test_each_job_reads_settings_afresh(app, ctx, sql_statements):
    """Settings cache per job: a value saved by someone else between two jobs is seen by the
    second, and within one job the second read costs nothing."""
    seen = []
    with job_context():
        seen.append(get_setting("program_name"))
        sql_statements.clear()
        seen.append(get_setting("tier_basis"))
        assert sql_statements == []
    with app.app_context():  # another process (an owner's request) saves a new value
        save_setting("program_name", "Renamed", None)
        db.session.commit()
    with job_context():
        seen.append(get_setting("program_name"))
    assert seen == ["Vouch Advocates", "lifetime", "Renamed"]


def test_unknown_setting_is_a_key_error(ctx):
    with pytest.raises(KeyError, match="no_such_setting"):
        get_setting("no_such_setting")
