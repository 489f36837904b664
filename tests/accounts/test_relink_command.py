"""`flask challenges relink-accounts`: the full relink and recount, from the command line."""

from __future__ import annotations

from sqlalchemy import update

from challenges.cli import challenges_cli
from hub.extensions import db
from hub.models import Advocate


def test_the_relink_command_repairs_links_and_says_what_it_did(app, ctx, make):
    ada = make.advocate(company="Acme")
    db.session.execute(update(Advocate).values(account_id=None))
    db.session.commit()
    result = app.test_cli_runner().invoke(challenges_cli, ["relink-accounts"])
    assert result.exit_code == 0, result.output
    assert "0 account(s) created, 1 advocate(s) and 0 opportunity(ies) relinked" in result.output
    db.session.refresh(ada)
    assert ada.account_id is not None
