"""Review asks the lawful way (product.md §15, issue 18): the review platforms and their sites,
the disclosure an incentivized review carries, and the wording rule.

The FTC's rule on consumer reviews (16 CFR Part 465, in force October 2024) forbids incentives
conditioned on a review's sentiment; G2, Capterra, TrustRadius and Gartner Peer Insights require
incentivized reviews to be disclosed. The phrases that ask for a sentiment or a rating are data
(challenges/data/review_sentiment_phrases.txt), so legal can extend the list without code."""

from __future__ import annotations

import re
import unicodedata
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
# Markup that renders to the same words: HTML tags and Markdown's emphasis and code marks
# ("**5**-star", "5-<b>star</b>" read as "5-star").
_MARKUP = re.compile(r"<[^>]{0,200}>|[*~`]")
# Star symbols read as the word, so "5★" is "5 star" and "★★★★★" is five of them.
_STARS = re.compile(r"[★☆⭐✩✪✫✬✭✮✯✰]")
# Letters of other scripts drawn like Latin ones (Unicode's confusables for the lower-case
# letters these phrases use): "рositive" with a Cyrillic р reads as "positive".
_LOOKALIKES = str.maketrans(
    {
        "а": "a", "с": "c", "е": "e", "һ": "h", "і": "i", "ј": "j", "к": "k", "ӏ": "l", "м": "m",
        "о": "o", "р": "p", "ԛ": "q", "ѕ": "s", "т": "t", "ս": "u", "ν": "v", "ѵ": "v", "ԝ": "w",
        "х": "x", "у": "y", "α": "a", "ε": "e", "ι": "i", "κ": "k", "ο": "o", "ρ": "p", "τ": "t",
        "υ": "u", "χ": "x", "γ": "y",
    }
)  # fmt: skip


def _normal(text: str) -> str:
    """The words as a reader sees them: compatibility forms folded (NFKC: full-width "５" is
    "5"), invisible format characters dropped (soft hyphens, zero-width spaces), markup removed,
    star symbols as "star", look-alike letters of other scripts as Latin, lower case, curly
    apostrophes straight, and hyphens, underscores and runs of spaces as one space (so "5-star",
    "5 star" and "5_star" read alike)."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    text = _STARS.sub(" star ", _MARKUP.sub("", text))
    text = text.casefold().translate(_LOOKALIKES).replace("’", "'")
    return _SEPARATORS.sub(" ", text).strip()


@cache
def _phrases_as_written() -> dict[str, str]:
    """Each phrase of the data file, normalised → as the file writes it (comments and blanks
    skipped; the first spelling of a phrase wins)."""
    text = resources.files("challenges").joinpath("data/review_sentiment_phrases.txt").read_text("utf-8")
    written: dict[str, str] = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#") and _normal(line):
            written.setdefault(_normal(line), line.strip())
    return written


def sentiment_phrases() -> tuple[str, ...]:
    """The phrases of the data file, normalised, in file order."""
    return tuple(_phrases_as_written())


@cache
def _pattern() -> re.Pattern[str]:
    # Whole words: a phrase must not start or end inside a word ("goodreviews" is no match, and
    # "good reviewer" neither). Symbols like ★ have no word boundary, hence the look-arounds.
    alternatives = sorted(sentiment_phrases(), key=len, reverse=True)
    return re.compile(r"(?<![\w])(" + "|".join(re.escape(p) for p in alternatives) + r")(?![\w])")


def sentiment_phrase(text: str | None) -> str | None:
    """The first phrase of the list that `text` contains (both as normalised), as the data file
    writes it; None when there is none."""
    if not text:
        return None
    found = _pattern().search(_normal(text))
    return _phrases_as_written()[found.group(1)] if found else None


# A challenge of another type that asks for a review on a review site is held to the same rule.
_REVIEW_ASK = re.compile(r"(?<![\w])(reviews?|g2|capterra|trustradius|gartner|peer insights)(?![\w])")


def asks_for_review(*texts: str | None) -> bool:
    """Whether any of `texts` (as normalised) mentions a review or a review site."""
    return any(text and _REVIEW_ASK.search(_normal(text)) for text in texts)


def wording_errors(fields: dict[str, str | None]) -> dict[str, str]:
    """{field: message} for each of `fields` (name → text: a review challenge's title,
    description and disclosure) that asks for a sentiment or a rating; empty when the wording is
    lawful."""
    errors: dict[str, str] = {}
    for name, value in fields.items():
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
