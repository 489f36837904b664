"""Ranking by fit then by days since last tapped, and why advocates are excluded."""

from __future__ import annotations

import datetime as dt

import pytest

from challenges import caps
from challenges.references import matching, services
from hub.db import utcnow
from hub.errors import InvalidState
from hub.extensions import db
from hub.models import Persona

NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
REQUEST = matching.RequestFit("Healthcare", "201-1000", "Patient intake", "EMEA")


def fit(advocate_id: int, name: str = "A", *, industry=None, size=None, region=None, use_cases=(), tapped=None):
    return matching.AdvocateFit(advocate_id, name, None, None, industry, size, region, frozenset(use_cases), tapped)


def test_fit_scores_each_attribute_with_its_reason():
    score, reasons = matching.fit(
        REQUEST, fit(1, industry="healthcare ", size="201-1000", region="EMEA", use_cases={"patient  intake"})
    )
    assert score == 100
    assert reasons == ["same industry", "same size band", "same use case", "same region"]
    assert matching.fit(REQUEST, fit(2, industry="Retail", size="1-50")) == (0, [])
    assert matching.fit(REQUEST, fit(3, size="201-1000")) == (30, ["same size band"])


def test_rank_by_fit_then_least_recently_tapped_then_id():
    advocates = [
        fit(1, industry="Healthcare", tapped=NOW - dt.timedelta(days=10)),
        fit(2, industry="Healthcare", tapped=NOW - dt.timedelta(days=94)),
        fit(3, industry="Healthcare"),  # never tapped: first among equals
        fit(4, industry="Healthcare", size="201-1000", tapped=NOW - dt.timedelta(days=1)),  # best fit wins
        fit(5, region="EMEA"),
        fit(6, industry="Healthcare"),
    ]
    ranked = matching.rank(REQUEST, advocates, NOW)
    assert [c.advocate_id for c in ranked] == [4, 3, 6, 2, 1, 5]
    by_id = {c.advocate_id: c for c in ranked}
    assert by_id[2].reasons == ("same industry", "last reference 94 days ago")
    assert by_id[3].reasons == ("same industry", "never asked for a reference")
    assert by_id[4].reasons == ("same industry", "same size band", "last reference 1 day ago")
    assert by_id[2].days_since_tapped == 94 and by_id[3].days_since_tapped is None


def test_exclusion_counts_group_by_reason():
    exclusions = [
        matching.Exclusion(i, "x", code, None, None)
        for i, code in enumerate(["reference_cap", "blackout", "reference_cap", "references_off"])
    ]
    assert matching.exclusion_counts(exclusions) == [
        ("reference_cap", "had a reference call recently", 2),
        ("blackout", "in a blackout period", 1),
        ("references_off", "not taking reference calls", 1),
    ]


def test_find_matches_excludes_capped_blacked_out_and_unavailable(refs, make):
    sales = make.user("sales")
    rr = refs.request(sales)
    make.advocate(name="Good Fit", industry="Healthcare", company_size="201-1000", region="EMEA")
    make.advocate(name="Plain")
    off = make.advocate(name="Off", industry="Healthcare")
    off.available_for_references = False
    blacked = make.advocate(name="Away", industry="Healthcare")
    today = utcnow().date()
    blacked.preferences = {
        "blackouts": [
            {"start": (today - dt.timedelta(days=1)).isoformat(), "end": (today + dt.timedelta(days=3)).isoformat()}
        ]
    }
    capped = make.advocate(name="Busy", industry="Healthcare")
    db.session.commit()
    caps.claim_ask(capped.id, "reference_call", "test", "earlier-call", at=utcnow() - dt.timedelta(days=94 - 80))
    recent = make.advocate(name="Tapped", industry="Healthcare", company_size="201-1000", region="EMEA")
    caps.claim_ask(recent.id, "reference_call", "test", "old-call", at=utcnow() - dt.timedelta(days=94))
    db.session.commit()

    matches = services.find_matches(rr.id)
    names = [c.name for c in matches.candidates]
    assert names == ["Good Fit", "Tapped", "Plain"]
    assert matches.candidates[1].reasons[-1] == "last reference 94 days ago"
    excluded = {e.name: e for e in matches.exclusions}
    assert set(excluded) == {"Off", "Away", "Busy"}
    assert excluded["Off"].code == "references_off"
    assert excluded["Away"].code == "blackout" and excluded["Away"].available_at is not None
    assert excluded["Busy"].code == "reference_cap"
    assert excluded["Busy"].available_at.date() == (utcnow() + dt.timedelta(days=16)).date()
    assert {code: n for code, _, n in matches.excluded_counts} == {
        "references_off": 1,
        "blackout": 1,
        "reference_cap": 1,
    }


def test_an_advocate_asked_once_is_excluded_from_that_request(refs, make):
    sales, manager = make.user("sales"), make.user("manager")
    rr = refs.request(sales)
    advocate = make.advocate(name="Once")
    services.assign(rr.id, advocate.id, manager.id)
    services.respond(rr.id, advocate.id, accept=False)
    db.session.commit()
    matches = services.find_matches(rr.id)
    assert [e.code for e in matches.exclusions] == ["already_asked"]
    assert matches.candidates == []


def test_a_video_call_prefers_public_champions_and_never_proposes_private_references(refs, make):
    """product.md §13: the persona ranks public champions first among equal fit for a public
    (video) format, and a private reference is excluded from it — but not from a phone call."""
    sales, manager = make.user("sales"), make.user("manager")
    video = refs.request(sales, format="video")
    phone = refs.request(sales, format="phone")
    plain = make.advocate(name="Plain", industry="Healthcare")
    champion = make.advocate(name="Champion", industry="Healthcare")
    private = make.advocate(name="Private", industry="Healthcare")
    champion.persona, private.persona = Persona.PUBLIC_CHAMPION, Persona.PRIVATE_REFERENCE
    db.session.commit()

    on_video = services.find_matches(video.id)
    assert [c.name for c in on_video.candidates] == ["Champion", "Plain"]
    assert "public champion: preferred for video" in on_video.candidates[0].reasons
    assert {e.name: e.code for e in on_video.exclusions} == {"Private": "private_reference"}
    on_phone = services.find_matches(phone.id)
    assert [c.name for c in on_phone.candidates] == ["Plain", "Champion", "Private"]  # by id: no preference
    assert "private reference: suits phone and email calls" in on_phone.candidates[2].reasons
    with pytest.raises(InvalidState):
        services.assign(video.id, private.id, manager.id)
    db.session.rollback()
    assert plain.id < champion.id < private.id
