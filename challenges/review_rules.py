"""Review asks the lawful way (product.md §15, issue 18): the review platforms and their sites,
the disclosure an incentivized review carries, and the wording rule.

The FTC's rule on consumer reviews (16 CFR Part 465, in force October 2024) forbids incentives
conditioned on a review's sentiment; G2, Capterra, TrustRadius and Gartner Peer Insights require
incentivized reviews to be disclosed. The phrases that ask for a sentiment or a rating are data
(challenges/data/review_sentiment_phrases.txt), so legal can extend the list without code."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from urllib.parse import urlsplit

from challenges import urlcheck

PLATFORMS: dict[str, str] = {
    "g2": "G2",
    "capterra": "Capterra",
    "trustradius": "TrustRadius",
    "gartner": "Gartner Peer Insights",
    "other": "Other site",
}

# The sites a review on each platform lives on (subdomains included, as in urlcheck.host_allowed).
# `other` has none: the challenge's own allowed domains say where its reviews live.
PLATFORM_SITES: dict[str, tuple[str, ...]] = {
    "g2": ("g2.com",),
    "capterra": ("capterra.com", "capterra.co.uk", "capterra.ca", "capterra.com.au"),
    "trustradius": ("trustradius.com",),
    "gartner": ("gartner.com",),
    "other": (),
}

DEFAULT_PLATFORM = "other"

DEFAULT_DISCLOSURE = (
    "I received an incentive from the vendor for writing this review. "
    "The incentive did not depend on my rating or on what I wrote."
)

MAX_DISCLOSURE = 500

RULE_EXPLAINED = (
    "Review incentives cannot depend on the review's rating or sentiment (FTC rule on consumer "
    "reviews, 16 CFR 465.4; G2, Capterra and TrustRadius policies). Remove “{phrase}” and ask "
    "for an honest review instead, e.g. “Share your honest experience”."
)

_SEPARATORS = re.compile(r"[\s\-_‐‑–—]+")


def _normal(text: str) -> str:
    """Lower case, with hyphens, underscores and runs of spaces as one space (so "5-star",
    "5 star" and "5_star" read alike); curly apostrophes as straight ones."""
    return _SEPARATORS.sub(" ", text.casefold().replace("’", "'")).strip()


@cache
def sentiment_phrases() -> tuple[str, ...]:
    """The phrases of the data file, normalised, in file order (comments and blanks skipped)."""
    text = resources.files("challenges").joinpath("data/review_sentiment_phrases.txt").read_text("utf-8")
    phrases = (_normal(line) for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#"))
    return tuple(dict.fromkeys(p for p in phrases if p))


@cache
def _pattern() -> re.Pattern[str]:
    # Whole words: a phrase must not start or end inside a word ("goodreviews" is no match, and
    # "good reviewer" neither). Symbols like ★ have no word boundary, hence the look-arounds.
    alternatives = sorted(sentiment_phrases(), key=len, reverse=True)
    return re.compile(r"(?<![\w])(" + "|".join(re.escape(p) for p in alternatives) + r")(?![\w])")


def sentiment_phrase(text: str | None) -> str | None:
    """The first phrase of the list that `text` contains (as normalised), or None."""
    if not text:
        return None
    found = _pattern().search(_normal(text))
    return found.group(1) if found else None


def wording_errors(title: str, description: str | None) -> dict[str, str]:
    """{field: message} for the title and description of a review challenge that ask for a
    sentiment or a rating; empty when the wording is lawful."""
    errors: dict[str, str] = {}
    for name, value in (("title", title), ("description", description)):
        phrase = sentiment_phrase(value)
        if phrase is not None:
            errors[name] = RULE_EXPLAINED.format(phrase=phrase)
    return errors


def sites_for(platform: str | None, allowed_domains: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Where a review on `platform` may be linked from: the platform's sites, or (for `other`)
    the challenge's allowed domains; empty means any site."""
    sites = PLATFORM_SITES.get(platform or DEFAULT_PLATFORM, ())
    return sites or tuple(allowed_domains)


def wrong_site(url: str, sites: tuple[str, ...]) -> str | None:
    """The message refusing `url` when its host is not one of `sites` (None when it is, or when
    any site will do)."""
    if not sites:
        return None
    host = urlsplit(url).hostname or ""
    if urlcheck.host_allowed(host, sites):
        return None
    return f"This challenge asks for a review on {', '.join(sites)}; {host or 'that link'} is not one of them."
