"""Each verifier on its own: url_check against a local web server (SSRF table included),
quiz/survey grading, and the hooks for community, CRM and feedback."""

from __future__ import annotations

import socket

import pytest

from challenges import urlcheck, verifiers
from challenges.verifiers import Evidence

MARKER = "Vouch-Verified-42"


def evidence(url: str | None, domains=("localhost",), allow=("localhost",), marker=MARKER, **kw) -> Evidence:
    return Evidence(
        completion_id=1,
        challenge_type="review",
        evidence_url=url,
        evidence_text=None,
        answers=None,
        allowed_domains=tuple(domains),
        marker=marker,
        quiz=kw.pop("quiz", None),
        attempt=1,
        allow_hosts=tuple(allow),
        **kw,
    )


def test_page_with_marker_is_approved_with_excerpt(site):
    verdict = verifiers.check_url(evidence(site.url("/review")))
    assert verdict.decision == "approve"
    assert MARKER in verdict.excerpt and "var x" not in verdict.excerpt


def test_page_without_marker_goes_to_review_with_what_was_found(site):
    verdict = verifiers.check_url(evidence(site.url("/nomarker")))
    assert verdict.decision == "review"
    assert "was not found" in verdict.note and "something else" in verdict.excerpt


def test_redirect_to_loopback_is_refused(site):
    verdict = verifiers.check_url(evidence(site.url("/redirect-private"), domains=("localhost", "127.0.0.1")))
    assert verdict.decision == "review" and "private" in verdict.note
    assert site.hits == ["/redirect-private"]


def test_redirect_within_allowed_host_is_followed(site):
    assert verifiers.check_url(evidence(site.url("/redirect-same"))).decision == "approve"


def test_more_than_three_redirects_refused(site):
    verdict = verifiers.check_url(evidence(site.url("/loop")))
    assert verdict.decision == "review" and "redirects more than 3" in verdict.note
    assert site.hits == ["/loop", "/loop1", "/loop2", "/loop3"]


def test_only_first_mib_is_read(site):
    verdict = verifiers.check_url(evidence(site.url("/big")))
    assert verdict.decision == "review" and "1 MiB" in verdict.note


def test_timeout_and_server_errors_are_retried(site):
    slow = verifiers.check_url(evidence(site.url("/slow")), timeout=0.5)
    assert slow.decision == "retry"
    assert verifiers.check_url(evidence(site.url("/error"))).decision == "retry"


def test_missing_page_goes_to_review(site):
    verdict = verifiers.check_url(evidence(site.url("/missing")))
    assert verdict.decision == "review" and "404" in verdict.note


@pytest.mark.parametrize(
    ("url", "domains", "why"),
    [
        ("http://127.0.0.1/x", ("127.0.0.1",), "private"),
        ("http://10.1.2.3/x", ("10.1.2.3",), "private"),
        ("http://169.254.169.254/latest/meta-data/", ("169.254.169.254",), "private"),
        ("http://0.0.0.0/", ("0.0.0.0",), "private"),  # noqa: S104
        ("http://[::1]/", ("::1",), "private"),
        ("http://[::ffff:127.0.0.1]/", ("::ffff:127.0.0.1",), "private"),
        ("http://100.64.0.1/", ("100.64.0.1",), "private"),
        ("file:///etc/passwd", ("localhost",), "http"),
        ("ftp://g2.com/x", ("g2.com",), "http"),
        ("gopher://g2.com/", ("g2.com",), "http"),
        ("http://user:pw@g2.com/", ("g2.com",), "password"),
        ("https://evil.example/g2.com", ("g2.com",), "not one of the allowed"),
        ("https://g2.com.evil.example/", ("g2.com",), "not one of the allowed"),
        ("http://g2.com:99999/", ("g2.com",), "not a valid link"),
        ("javascript:alert(1)", ("g2.com",), "http"),
    ],
)
def test_ssrf_table(url, domains, why):
    verdict = verifiers.check_url(evidence(url, domains=domains, allow=()))
    assert verdict.decision == "review"
    assert why in verdict.note


def test_dns_name_resolving_privately_is_refused(monkeypatch):
    def fake_getaddrinfo(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port))]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    verdict = verifiers.check_url(evidence("https://reviews.g2.com/x", domains=("g2.com",), allow=()))
    assert verdict.decision == "review" and "private" in verdict.note


def test_allowed_domains_match_subdomains_only():
    assert urlcheck.host_allowed("www.g2.com", ["g2.com"])
    assert urlcheck.host_allowed("G2.com.", ["g2.com"])
    assert not urlcheck.host_allowed("notg2.com", ["g2.com"])
    assert not urlcheck.host_allowed("g2.com", [])


QUIZ = {
    "questions": [
        {"prompt": "a", "options": ["x", "y"], "answer": 1},
        {"prompt": "b", "options": ["x", "y", "z"], "answer": 2},
    ],
    "pass_mark": None,
}


@pytest.mark.parametrize(
    ("answers", "decision"), [([1, 2], "approve"), ([1, 0], "reject"), ([1], "review"), (None, "review")]
)
def test_quiz_grading(answers, decision):
    ev = Evidence(1, "quiz", None, None, answers, (), None, QUIZ, 1)
    assert verifiers.grade_answers(ev).decision == decision


def test_quiz_pass_mark():
    ev = Evidence(1, "quiz", None, None, [1, 0], (), None, QUIZ | {"pass_mark": 1}, 1)
    assert verifiers.grade_answers(ev).decision == "approve"


def test_survey_needs_every_answer():
    survey = {
        "questions": [
            {"prompt": "why", "options": [], "answer": None},
            {"prompt": "rate", "options": ["1", "2"], "answer": None},
        ]
    }
    assert verifiers.grade_answers(Evidence(1, "survey", None, None, ["ok", 1], (), None, survey, 1)).decision == (
        "approve"
    )
    assert verifiers.grade_answers(Evidence(1, "survey", None, None, [" ", 1], (), None, survey, 1)).decision == (
        "review"
    )


# `crm` is replaced by the references package (it looks the referral up in the database):
# tests/references/test_crm_and_webhooks.py covers it.
@pytest.mark.parametrize("key", ["manual", "community", "feedback"])
def test_undecidable_verifiers_send_to_review(key):
    assert verifiers.run(evidence(None), key).decision == "review"
    assert verifiers.run(evidence(None), "unknown-verifier").decision == "review"


def test_every_type_names_a_registered_verifier():
    for spec in verifiers.TYPES.values():
        assert spec.verification in verifiers.VERIFIERS
        assert set(spec.evidence) <= set(verifiers.EVIDENCE_KINDS)


def test_no_allowed_domains_means_nothing_is_fetched(site):
    verdict = verifiers.check_url(evidence(site.url("/review"), domains=()))
    assert verdict.decision == "review" and "none set" in verdict.note and site.hits == []
