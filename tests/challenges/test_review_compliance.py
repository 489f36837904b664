"""Issue 18 (product.md §15): review asks the lawful way — platform and disclosure, the wording
rule (a table of phrases refused and honest ones that pass), staff cannot earn review
incentives, a review link on the wrong site is refused before anything is stored (issue 19), and
the incentive log (API, CSV, page)."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select

from challenges import review_rules, services
from challenges.models import Challenge, Completion
from hub.errors import InvalidState, ValidationFailed
from hub.extensions import db
from hub.models import Role, User

REVIEW = {"title": "Review us on G2", "type": "review", "points": 150, "platform": "g2", "marker": "Acme"}

REFUSED = [
    ("Leave us a 5-star review on G2", "5 star"),
    ("Leave us a 5 star review", "5 star"),
    ("Rate us five stars on Capterra", "five stars"),
    ("Only positive reviews please", "only positive"),
    ("Write a positive review", "positive review"),
    ("We'd love a glowing write-up", "glowing"),
    ("Give us a good review on TrustRadius", "good review"),
    ("A GREAT REVIEW gets you 200 points", "great review"),
    ("Score us 10/10", "10/10"),
    ("Leave ★★★★★ and earn points", "★★★★★"),
    ("Share a favourable review", "favourable review"),
    ("Rave reviews welcome", "rave reviews"),
    # Written so that a plain match misses it, read as a person reads it:
    ("5★ reviews earn a bonus", "5 star"),  # a star symbol
    ("Leave us a ５-star review", "5 star"),  # a full-width digit
    ("Leave a p\u00adositive review", "positive review"),  # a soft hyphen inside the word
    ("Leave a 5\u200b-star review", "5 star"),  # a zero-width space
    ("Leave a **5**-star review", "5 star"),  # Markdown emphasis
    ("Leave a 5-<b>star</b> review", "5 star"),  # an HTML tag
    ("Write a \u0440ositive review", "positive review"),  # a Cyrillic р
    ("Tell G2 how much you love us", "how much you love"),
]

HONEST = [
    "Share your honest experience",
    "Tell peers what you think",
    "Review us on G2: the good and the bad",
    "What would you tell a peer choosing a tool?",
    "Positively no strings attached: share your view",  # "positively" is not "positive review"
    "Goodreads-style honesty: what worked, what did not",
    "Rate your experience honestly — any rating earns the same points",
    "We reward the effort, not the stars.",
]


@pytest.mark.parametrize(("text", "phrase"), REFUSED)
def test_wording_that_asks_for_a_sentiment_or_rating_is_found(text, phrase):
    assert review_rules.sentiment_phrase(text) == phrase


@pytest.mark.parametrize("text", HONEST)
def test_honest_wording_passes(text):
    assert review_rules.sentiment_phrase(text) is None


def test_the_phrase_list_is_data_read_from_the_file():
    phrases = review_rules.sentiment_phrases()
    assert "5 star" in phrases and "glowing" in phrases
    assert not any(p.startswith("#") for p in phrases)


@pytest.fixture()
def staff_api(api, make_user):
    return api(make_user("manager"))


@pytest.mark.parametrize("field", ["title", "description"])
def test_api_refuses_sentiment_wording_with_422_naming_the_field(staff_api, field):
    body = REVIEW | {field: "Leave us a 5-star review on G2"}
    response = staff_api.post("/challenges", body)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid"
    assert "16 CFR 465" in error["fields"][field][0] and "5 star" in error["fields"][field][0]
    assert db.session.scalar(select(func.count()).select_from(Challenge)) == 0


def test_other_types_are_not_review_incentives(staff_api):
    """The rule is about reviews: a webinar titled "positive feedback session" is saved."""
    body = {"title": "Positive feedback session", "type": "webinar", "points": 20}
    assert staff_api.post("/challenges", body).status_code == 201


@pytest.mark.parametrize("kind", ["custom", "social_share"])
def test_another_type_asking_for_a_review_is_held_to_the_rule(staff_api, kind):
    body = {"title": "Leave us a 5-star review on G2", "type": kind, "points": 20}
    response = staff_api.post("/challenges", body)
    assert response.status_code == 422
    assert "5 star" in response.get_json()["error"]["fields"]["title"][0]
    assert db.session.scalar(select(func.count()).select_from(Challenge)) == 0


def test_the_disclosure_is_held_to_the_rule_on_create_and_on_change(staff_api):
    refused = staff_api.post("/challenges", REVIEW | {"disclosure": "Rate us 5 stars to get the points"})
    assert refused.status_code == 422
    assert "16 CFR 465" in refused.get_json()["error"]["fields"]["disclosure"][0]
    assert db.session.scalar(select(func.count()).select_from(Challenge)) == 0
    created = staff_api.post("/challenges", REVIEW).get_json()
    changed = staff_api.patch(f"/challenges/{created['id']}", {"disclosure": "Only positive reviews earn points."})
    assert changed.status_code == 422
    assert "disclosure" in changed.get_json()["error"]["fields"]
    assert staff_api.get(f"/challenges/{created['id']}").get_json()["disclosure"] == review_rules.DEFAULT_DISCLOSURE


def test_review_challenge_gets_platform_sites_and_default_disclosure(staff_api):
    created = staff_api.post("/challenges", REVIEW).get_json()
    assert created["platform"] == "g2"
    assert created["allowed_domains"] == ["g2.com"]
    assert created["disclosure"] == review_rules.DEFAULT_DISCLOSURE
    own = staff_api.post("/challenges", REVIEW | {"disclosure": "I got 150 points for this review."}).get_json()
    assert own["disclosure"] == "I got 150 points for this review."
    plain = staff_api.post("/challenges", {"title": "Review us", "type": "review", "points": 10}).get_json()
    assert plain["platform"] == "other" and plain["disclosure"] == review_rules.DEFAULT_DISCLOSURE


def test_platform_changes_bring_their_sites_and_stray_domains_are_refused(staff_api):
    created = staff_api.post("/challenges", REVIEW).get_json()
    moved = staff_api.patch(f"/challenges/{created['id']}", {"platform": "capterra"}).get_json()
    assert moved["platform"] == "capterra" and "capterra.com" in moved["allowed_domains"]
    wrong = staff_api.post("/challenges", REVIEW | {"allowed_domains": ["capterra.com"]})
    assert wrong.status_code == 422
    assert "g2.com" in wrong.get_json()["error"]["fields"]["allowed_domains"][0]
    assert staff_api.post("/challenges", REVIEW | {"platform": "yelp"}).status_code == 422


def test_admin_form_shows_the_rule_as_a_field_error(as_role):
    manager = as_role("manager")
    form = {
        "title": "Leave us a 5-star review on G2",
        "type": "review",
        "platform": "g2",
        "points": "200",
        "description": "Only positive reviews please",
        "max_per_advocate": "1",
        "cooldown_days": "0",
        "disclosure": review_rules.DEFAULT_DISCLOSURE,
    }
    response = manager.post("/admin/challenges/new", data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "cannot depend on the review" in page and "“5 star”" in page and "“only positive”" in page
    assert db.session.scalar(select(func.count()).select_from(Challenge)) == 0
    honest = form | {"title": "Review us on G2", "description": "Share your honest experience"}
    assert manager.post("/admin/challenges/new", data=honest).status_code == 302
    saved = db.session.scalar(select(Challenge))
    assert (saved.platform, saved.disclosure) == ("g2", review_rules.DEFAULT_DISCLOSURE)


def test_admin_form_shows_a_disclosure_asking_for_stars_as_its_field_error(as_role):
    manager = as_role("manager")
    form = {
        "title": "Review us on G2",
        "type": "review",
        "platform": "g2",
        "points": "200",
        "max_per_advocate": "1",
        "cooldown_days": "0",
        "disclosure": "Rate us 5 stars to get the points",
    }
    response = manager.post("/admin/challenges/new", data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "cannot depend on the review" in page and "“rate us 5”" in page
    assert 'aria-describedby="disclosure-err"' in page
    assert db.session.scalar(select(func.count()).select_from(Challenge)) == 0


def test_advocate_sees_the_disclosure_with_the_ask_and_on_the_form(as_role, make_challenge):
    challenge = make_challenge(**REVIEW | {"disclosure": "Incentivized review: I received 150 points."})
    client = as_role("advocate")
    page = client.get(f"/challenges/{challenge.id}").get_data(as_text=True)
    assert 'data-testid="review-disclosure"' in page and 'data-testid="submit-disclosure"' in page
    assert page.count("Incentivized review: I received 150 points.") == 2
    assert "Include this line in your review on G2:" in page


def test_wrong_site_link_is_refused_inline_naming_the_allowed_sites(as_role, api, make_challenge):
    challenge = make_challenge(**REVIEW)
    client = as_role("advocate")
    response = client.post(
        f"/challenges/{challenge.id}/complete", data={"evidence_url": "https://www.capterra.com/reviews/123"}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "asks for a review on g2.com" in page and "www.capterra.com is not one of them" in page
    by_api = api(client.user).post(
        f"/challenges/{challenge.id}/completions", {"evidence_url": "https://www.capterra.com/reviews/123"}
    )
    assert by_api.status_code == 422
    assert "g2.com" in by_api.get_json()["error"]["fields"]["evidence_url"][0]
    assert db.session.scalar(select(func.count()).select_from(Completion)) == 0
    ok = api(client.user).post(
        f"/challenges/{challenge.id}/completions", {"evidence_url": "https://www.g2.com/products/acme/reviews/9"}
    )
    assert ok.status_code == 201


def test_staff_cannot_earn_review_incentives(make_advocate, make_challenge):
    challenge = make_challenge(**REVIEW)
    insider = make_advocate()
    db.session.get(User, insider.user_id).role = Role.MANAGER
    db.session.commit()
    with pytest.raises(InvalidState, match="cannot earn review incentives"):
        services.submit_completion(challenge.id, insider.id, {"evidence_url": "https://g2.com/r/1"})
    # a webinar is not a review incentive: the same person may still take it
    webinar = make_challenge(title="Join the webinar", type="webinar", points=10)
    assert services.submit_completion(webinar.id, insider.id, {"evidence_text": "Joined the May session"}).id


def test_wrong_site_is_a_field_error_of_the_service(make_advocate, make_challenge):
    challenge = make_challenge(**REVIEW | {"platform": "other", "allowed_domains": ["reviews.example.org"]})
    with pytest.raises(ValidationFailed) as refused:
        services.submit_completion(challenge.id, make_advocate().id, {"evidence_url": "https://g2.com/r/1"})
    assert "reviews.example.org" in refused.value.fields["evidence_url"][0]


def _award(challenge, advocate, url):
    completion = services.submit_completion(challenge.id, advocate.id, {"evidence_url": url})
    services.approve_completion(completion.id, None)
    db.session.info.pop("vouch_pending_jobs", None)
    db.session.commit()
    return completion


def test_incentive_log_lists_offers_and_awards_with_the_disclosure_shown(api, make_user, make_advocate, make_challenge):
    shown = '=HYPERLINK("http://evil") I got points for this review.'
    challenge = make_challenge(**REVIEW | {"disclosure": shown, "target_tiers": ["gold"]})
    make_challenge(**REVIEW | {"title": "Draft review ask"}, publish=False)
    advocate = make_advocate(name="Grace Reviewer", points=0)
    db.session.get(type(advocate), advocate.id).tier = "gold"
    db.session.commit()
    _award(challenge, advocate, "https://g2.com/r/77")
    # the disclosure is edited afterwards: the log keeps what the advocate was shown
    challenge = db.session.get(Challenge, challenge.id)
    challenge.disclosure = "Changed later."
    db.session.commit()

    owner = api(make_user("owner"))
    body = owner.get("/reports/incentives").get_json()
    assert [o["title"] for o in body["offered"]] == ["Review us on G2"]  # the draft offered nothing
    assert body["offered"][0]["audience"] == "tiers gold" and body["offered"][0]["platform"] == "g2"
    assert body["total"] == 1
    item = body["items"][0]
    assert (item["advocate_id"], item["challenge_id"], item["platform"], item["points"]) == (
        advocate.id,
        challenge.id,
        "g2",
        150,
    )
    assert item["disclosure"] == shown and item["submitted_at"] and item["awarded_at"]

    exported = owner.get("/reports/incentives?format=csv")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert [r["kind"] for r in rows] == ["offered", "awarded"]
    assert rows[1]["advocate_name"] == "Grace Reviewer" and rows[1]["points"] == "150"
    assert rows[1]["disclosure"] == "'" + shown  # a formula stays text in a spreadsheet
    assert owner.get("/reports/incentives?format=xml").status_code == 422
    assert api(make_user("manager")).get("/reports/incentives").status_code == 403


def test_incentive_page_and_csv_are_for_owners(as_role, make_advocate, make_challenge):
    challenge = make_challenge(**REVIEW)
    _award(challenge, make_advocate(name="Ivy Incentive"), "https://g2.com/r/5")
    owner = as_role("owner")
    page = owner.get("/admin/reports/incentives").get_data(as_text=True)
    assert 'data-testid="incentives-offered"' in page and "Ivy Incentive" in page
    assert "text/csv" in owner.get("/admin/reports/incentives.csv").content_type
    assert as_role("manager").get("/admin/reports/incentives").status_code == 403
