"""What-if for a challenge's points (product.md §14): POST /simulations with challenge_points and
the editor's panel value its approved completions at the proposed points, and write nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from challenges import services
from hub.extensions import db
from hub.models import Advocate
from rewards.models import LedgerEntry
from tests.support.challenges import create_challenge


def approved(challenge_id: int, advocate_id: int, owner_id: int) -> None:
    completion = services.submit_completion(challenge_id, advocate_id, {"evidence_text": "Did it, see notes."})
    services.approve_completion(completion.id, owner_id)
    db.session.commit()


def test_challenge_points_what_if(api, make, client, login):
    owner_user = make.user("owner")
    owner = api(owner_user)
    challenge = create_challenge(points=150)
    near = make.advocate(points=900, name="Nearly Silver")  # 900 + 150 = 1,050: Silver already
    far = make.advocate(points=100, name="Far Away")
    approved(challenge.id, near.id, owner_user.id)
    approved(challenge.id, far.id, owner_user.id)
    db.session.expire_all()
    assert db.session.get(Advocate, near.id).tier.value == "silver"
    entries = db.session.scalar(select(func.count()).select_from(LedgerEntry))

    # At 50 points instead of 150 "Nearly Silver" would have 950: back to Bronze.
    body = owner.post("/simulations", json={"challenge_points": [{"challenge_id": challenge.id, "points": 50}]}).json
    assert [(m["advocate_id"], m["to_tier"]) for m in body["tier_moves"]["down"]] == [(near.id, "bronze")]
    assert body["tier_moves"]["up"] == []
    assert body["now"]["outstanding"] == 1300 and body["then"]["outstanding"] == 1100
    assert body["then"]["liability"] == {"amount": "11.00", "currency": "USD"}
    # At 1,000 "Far Away" would have 1,100: Silver.
    body = owner.post("/simulations", json={"challenge_points": [{"challenge_id": challenge.id, "points": 1000}]}).json
    assert [(m["advocate_id"], m["to_tier"]) for m in body["tier_moves"]["up"]] == [(far.id, "silver")]
    unknown = owner.post("/simulations", json={"challenge_points": [{"challenge_id": 999999, "points": 10}]})
    assert unknown.status_code == 422 and "challenge_points" in unknown.json["error"]["fields"]

    login(client, owner_user)
    token = client.get(f"/admin/challenges/{challenge.id}/edit").get_data(as_text=True)
    assert "What if it paid the points above?" in token
    panel = client.post(
        f"/admin/challenges/{challenge.id}/points-whatif", data={"points": "50"}, headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    assert "Nearly Silver: Silver → Bronze" in panel
    refused = client.post(f"/admin/challenges/{challenge.id}/points-whatif", data={"points": "-5"})
    assert 'role="alert"' in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == entries
