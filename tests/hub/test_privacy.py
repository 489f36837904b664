"""Issue 14, product.md §12: an advocate's export holds everything Vouch has about them, and
erasure removes the personal data while the points ledger keeps its amounts."""

from __future__ import annotations

import pytest
from sqlalchemy import ForeignKey, func, select

from hub import privacy
from hub.extensions import db
from hub.hooks import hooks
from hub.models import Advocate, AuditEntry, User
from rewards import leaderboard
from rewards.models import LeaderboardScore, LedgerEntry
from tests.support.privacy import leave_footprint, where_found

PERSON_TABLES = {"advocates", "users"}


def person_foreign_keys() -> set[str]:
    """Every "table.column" in the schema that points at a person (advocates.id or users.id)."""
    found = set()
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            for fk in column.foreign_keys:
                fk: ForeignKey
                if fk.column.table.name in PERSON_TABLES:
                    found.add(f"{table.name}.{column.name}")
    return found


def test_every_table_referencing_a_person_is_exported_and_erased_or_named_as_an_actor(ctx):
    """Fails when a new table with a foreign key to advocates or users is added and no package's
    hub.hooks.PersonalData answers for it (in its export and erasure, or as a who-did-it column)."""
    covered = {c for part in hooks().personal_data for c in part.covers}
    actors = {c for part in hooks().personal_data for c in part.actor_columns}
    foreign_keys = person_foreign_keys()
    assert foreign_keys - covered - actors == set(), "referencing a person, answered for by no PersonalData"
    # and nothing is claimed that does not exist (a renamed column would otherwise go unnoticed)
    assert (covered | actors) - foreign_keys == set()
    assert covered & actors == set()


def test_export_holds_every_section_with_the_advocates_data(make_advocate):
    advocate = make_advocate(name="Erin Export", email="erin.export@example.com", title="CTO")
    fp = leave_footprint(advocate)

    document = privacy.export_advocate(fp.advocate_id)

    assert document["profile"]["email"] == "erin.export@example.com"
    assert document["profile"]["title"] == "CTO"
    assert document["profile"]["company"] == fp.company
    assert [e["memo"] for e in document["ledger"]].count(fp.memo) == 1
    assert sum(e["delta"] for e in document["ledger"]) == db.session.get(Advocate, fp.advocate_id).balance
    assert document["completions"][0]["evidence_text"] == fp.evidence
    assert document["completions"][0]["evidence_url"] == fp.evidence_url
    assert document["referrals"][0]["email"] == fp.referral_email
    assert fp.shipping_note in document["redemptions"][0]["note"]
    assert document["questions"][0]["title"].startswith(fp.question_title)
    assert document["answers"][0]["body"] == "Answer body zq"
    assert document["reference_requests"][0]["prospect_company"] == "Prospect Inc"
    assert any(n["text"] == "Hello Erin Export" for n in document["notifications"])
    assert document["api_tokens"][0]["name"] == "token-zq"
    assert len(document["sessions"]) == 1
    assert document["asks"]
    assert set(document) >= {"exported_at", "preferences", "consent", "groups", "badges", "tier_history"}
    # every list section of every package holds only this advocate's rows
    other = leave_footprint(make_advocate(name="Other Person"), tag="xo")
    again = privacy.export_advocate(fp.advocate_id)
    assert other.referral_email not in str(again) and other.evidence not in str(again)


def test_erasure_removes_personal_data_and_keeps_ledger_amounts(make_advocate, make_user):
    advocate = make_advocate(name="Ursula Unique", email="ursula.unique@example.com", title="VP Ops")
    fp = leave_footprint(advocate)
    owner = make_user("owner")
    balance_before = db.session.get(Advocate, fp.advocate_id).balance
    issued_before = db.session.scalar(select(func.sum(LedgerEntry.delta)))
    entries_before = db.session.scalar(select(func.count()).select_from(LedgerEntry))

    assert privacy.erase_advocate(fp.advocate_id, owner.id, "emailed request") is True
    db.session.commit()
    db.session.expire_all()

    for needle in (fp.email, fp.name, fp.company, fp.evidence, fp.evidence_url, fp.referral_email, fp.shipping_note):
        assert where_found(needle) == [], needle
    assert where_found(fp.memo) == []
    advocate = db.session.get(Advocate, fp.advocate_id)
    user = db.session.get(User, fp.user_id)
    assert (user.name, user.is_active_user, user.password_hash) == (privacy.ERASED_NAME, False, None)
    assert advocate.is_erased and advocate.title is None and advocate.preferences == {}
    assert advocate.balance == balance_before
    assert db.session.scalar(select(func.sum(LedgerEntry.delta))) == issued_before
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == entries_before
    # the community post stays, signed by nobody in particular
    assert where_found(fp.question_title) == [("questions", "title")]
    # audited: who, on whose request
    audit = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "advocate.erase")).all()
    assert [(a.actor_id, a.after["requested_by"]) for a in audit] == [(owner.id, "emailed request")]


def test_erasure_is_idempotent_and_survives_a_leaderboard_rebuild(make_advocate):
    advocate = make_advocate(points=900)
    rival = make_advocate(points=100)
    assert privacy.erase_advocate(advocate.id, None, "operator") is True
    db.session.commit()
    assert privacy.erase_advocate(advocate.id, None, "operator") is False
    db.session.commit()
    assert db.session.scalar(select(func.count()).where(AuditEntry.action == "advocate.erase")) == 1

    leaderboard.rebuild()
    db.session.commit()
    ranked = db.session.scalars(select(LeaderboardScore.advocate_id).distinct()).all()
    assert ranked == [rival.id]
    rows, _ = leaderboard.standings("all")
    assert [r.advocate_id for r in rows] == [rival.id]


def test_the_same_email_can_be_invited_again_as_a_new_person(make_advocate):
    advocate = make_advocate(email="again@example.com")
    privacy.erase_advocate(advocate.id, None, "self")
    db.session.commit()
    newcomer = make_advocate(email="again@example.com")
    assert newcomer.id != advocate.id and newcomer.balance == 0


def test_export_of_an_erased_or_unknown_advocate_is_not_found(make_advocate):
    from hub.errors import NotFound

    advocate = make_advocate()
    privacy.erase_advocate(advocate.id, None, "self")
    db.session.commit()
    for advocate_id in (advocate.id, 999_999):
        with pytest.raises(NotFound):
            privacy.export_advocate(advocate_id)


def test_the_score_and_nominations_held_about_the_advocates_email_are_exported_and_erased(make_advocate, make_user):
    """Advocacy scores and nominations name a person by email (issue 15): they are that person's
    data, so they are in the export and gone after the erasure."""
    from challenges.prospects.models import AdvocacyScore, Nomination, NominationStatus

    advocate = make_advocate(name="Nora Nominee", email="nora@acme.example")
    sales = make_user("sales")
    db.session.add(
        AdvocacyScore(
            email="nora@acme.example", name="Nora Nominee", company="Acme", nps=10, score=80, qualified=True, reasons=[]
        )
    )
    db.session.add(
        Nomination(
            email="nora@acme.example",
            name="Nora Nominee",
            company="Acme",
            reason="Loves the product",
            status=NominationStatus.INVITED,
            nominated_by_id=sales.id,
        )
    )
    db.session.commit()

    exported = privacy.export_advocate(advocate.id)
    assert [row["score"] for row in exported["advocacy_score"]] == [80]
    assert [row["reason"] for row in exported["nominations"]] == ["Loves the product"]

    privacy.erase_advocate(advocate.id, None, "the advocate")
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(AdvocacyScore)) == 0
    assert db.session.scalar(select(func.count()).select_from(Nomination)) == 0


def test_uploaded_evidence_files_are_listed_in_the_export_and_erased_with_the_advocate(
    make_advocate, app, tmp_path, monkeypatch
):
    """Issue 19: `evidence_files` names a person only through their completion, so the guard above
    cannot see it; its display names (the sender's file names) and bytes are personal data."""
    from challenges import services
    from tests.support.challenges import create_challenge
    from tests.support.uploads import pdf_bytes

    monkeypatch.setitem(app.config, "VOUCH_UPLOAD_DIR", str(tmp_path))
    advocate = make_advocate(name="Fiona Files")
    challenge = create_challenge(title="Certificate", type="photo", points=10)
    services.submit_completion(
        challenge.id, advocate.id, {}, files=[services.SentFile(pdf_bytes(), "Fiona-passport-zq.pdf")]
    )
    db.session.commit()
    [stored] = [p for p in (tmp_path / "evidence").iterdir() if p.is_file()]

    assert [f["name"] for f in privacy.export_advocate(advocate.id)["evidence_files"]] == ["Fiona-passport-zq.pdf"]
    privacy.erase_advocate(advocate.id, None, "self")
    db.session.commit()
    assert where_found("Fiona-passport-zq") == []
    assert not stored.exists()
