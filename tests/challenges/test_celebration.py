"""An approval's celebration (issue 19): shown when the chip turns approved in front of the
advocate, with the points, the tier bar before and after, a tier reached and new badges."""

from __future__ import annotations

import re

from challenges import services
from challenges.models import CompletionStatus
from hub.extensions import db

HX = {"HX-Request": "true"}


def approve_in_front_of(client, challenge, manager_id):
    completion = services.submit_completion(challenge.id, client.advocate.id, {"evidence_text": "x"})
    completion.status = CompletionStatus.VERIFYING
    db.session.commit()
    services.approve_completion(completion.id, manager_id)
    db.session.commit()
    return client.get(f"/completions/{completion.id}/status?poll=1", headers=HX)


def test_first_approval_counts_up_moves_the_bar_and_unveils_the_first_badge(as_role, make_challenge, make_user):
    client = as_role("advocate", points=100)
    done = approve_in_front_of(client, make_challenge(points=150), make_user("manager").id)
    body = done.get_data(as_text=True)
    assert 'data-testid="celebration"' in body and 'data-count-to="150"' in body
    # 100 → 250 of the 1,000 to Silver: the bar moves from 10 % to 25 %.
    assert re.search(r'<progress class="tier-progress to-silver" max="100" value="25" data-from="10"', body)
    assert "750 points to Silver" in body
    badges = re.findall(r"New badge: <strong>([^<]+)</strong>", body)
    assert badges == ["First step"] and "badges.svg#badge-first_completion" in body
    assert 'data-testid="celebration-tier"' not in body
    # The parts around it refresh in the same response (hub.htmx.refresh_parts), not by an event.
    assert "HX-Trigger" not in done.headers
    parts = client.get(
        done.request.path + "?poll=1", headers=HX | {"X-Vouch-Parts": "badges getting-started"}
    ).get_data(as_text=True)
    assert '<section class="card" id="badges-card" data-part="badges" hx-swap-oob="true">' in parts
    assert 'id="getting-started" data-part="getting-started"' in parts and 'hx-swap-oob="true"' in parts


def test_reaching_silver_is_said_and_old_badges_are_not_unveiled_again(as_role, make_challenge, make_user):
    client = as_role("advocate", points=900)
    manager_id = make_user("manager").id
    approve_in_front_of(client, make_challenge(title="One", points=10), manager_id)
    body = approve_in_front_of(client, make_challenge(title="Two", points=200), manager_id).get_data(as_text=True)
    assert re.search(r'You reached <span class="tier tier-silver">Silver</span>', body)
    # 1,110 lifetime: 110 of the 4,000 from Silver to Gold (3 %), the bar starting from empty.
    assert re.search(r'<progress class="tier-progress to-gold" max="100" value="3" data-from="0"', body)
    assert re.findall(r"New badge: <strong>([^<]+)</strong>", body) == ["Silver"]


def test_no_celebration_when_the_page_is_only_showing_an_old_approval(as_role, make_challenge, make_user):
    client = as_role("advocate")
    challenge = make_challenge()
    completion = services.submit_completion(challenge.id, client.advocate.id, {"evidence_text": "x"})
    services.approve_completion(completion.id, make_user("manager").id)
    db.session.commit()
    quiet = client.get(f"/completions/{completion.id}/status", headers=HX)
    assert "Approved" in quiet.get_data(as_text=True) and "celebration" not in quiet.get_data(as_text=True)
    assert "HX-Trigger" not in quiet.headers
