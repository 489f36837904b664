"""A new advocate's hub (issue 19): instead of an empty hub, two first steps — complete the
profile, take the welcome challenge (the easiest one open to them) — gone once both are done."""

from __future__ import annotations

from challenges import services
from hub.extensions import db
from hub.models import Advocate


def test_new_advocate_sees_the_profile_step_and_the_welcome_challenge(as_role, make_challenge):
    client = as_role("advocate")
    make_challenge(title="Big story", type="case_study", points=1500)
    make_challenge(title="Team photo", type="custom", points=80)
    welcome = make_challenge(title="Welcome survey", type="custom", points=25)
    html = client.get("/").get_data(as_text=True)
    assert "Welcome — two steps to get started" in html
    profile_step = html.split('data-testid="step-profile"')[1].split("</li>")[0]
    assert "Complete your profile" in profile_step and "title, company, time zone" in profile_step
    welcome_step = html.split('data-testid="step-welcome"')[1].split("</li>")[0]
    assert f'href="/challenges/{welcome.id}">Welcome survey<' in welcome_step and "+25 points" in welcome_step


def test_steps_tick_off_and_the_section_goes_when_both_are_done(as_role, make_challenge, make_user):
    client = as_role("advocate", title="CTO", company="Initech")
    challenge = make_challenge(title="Welcome survey", type="custom", points=25)
    html = client.get("/").get_data(as_text=True)
    assert "Add your time zone" in html
    db.session.get(Advocate, client.advocate.id).time_zone = "Europe/Paris"
    db.session.commit()
    html = client.get("/").get_data(as_text=True)
    assert "Your profile is complete." in html and "Welcome survey" in html
    completion = services.submit_completion(challenge.id, client.advocate.id, {"evidence_text": "Hi"})
    services.approve_completion(completion.id, make_user("manager").id)
    db.session.commit()
    assert "Welcome — two steps to get started" not in client.get("/").get_data(as_text=True)


def test_no_open_challenge_says_so_rather_than_linking_nowhere(as_role):
    html = as_role("advocate").get("/").get_data(as_text=True)
    assert "None is open to you right now" in html
