"""An SSRF-safe page fetch for `url_check` (product.md §4, reliability.md case 45).

The request goes through Vouch's one guarded HTTP client (hub.outbound: http(s) only, no
credentials, every address checked when connecting and pinned, private targets only through
VOUCH_OUTBOUND_ALLOW_HOSTS / VOUCH_VERIFY_ALLOW_HOSTS). On top of that, every hop (the first URL
and each of at most 3 redirects) must be on the challenge's allowed-domain list. The whole fetch
has a 5 s deadline and reads at most 1 MiB.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass

from hub import outbound
from hub.outbound import Refused, Transient

__all__ = ["Page", "Refused", "Transient", "excerpt", "fetch", "host_allowed", "page_text"]

MAX_BYTES = 1024 * 1024
MAX_REDIRECTS = 3
TIMEOUT_SECONDS = 5.0
USER_AGENT = "VouchVerifier/1.0 (+advocate program evidence check)"


@dataclass(frozen=True)
class Page:
    url: str
    status: int
    body: bytes
    truncated: bool
    charset: str


def host_allowed(host: str, domains: Iterable[str]) -> bool:
    """`host` is one of `domains` or a subdomain of one."""
    host = host.lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in (d.lower().strip(".") for d in domains) if d)


def fetch(
    url: str,
    domains: Iterable[str],
    allow_hosts: Iterable[str] = (),
    timeout: float = TIMEOUT_SECONDS,
    max_bytes: int = MAX_BYTES,
    max_redirects: int = MAX_REDIRECTS,
) -> Page:
    """GET `url` under the rules above. Raises Refused or Transient."""
    domains = list(domains)

    def on_the_list(target: outbound.Target) -> None:
        if not host_allowed(target.host, domains):
            raise Refused(f"{target.host} is not one of the allowed sites ({', '.join(domains) or 'none set'}).")

    response = outbound.request(
        "GET",
        url,
        headers={
            "User-Agent": USER_AGENT,
            "Accept": "text/html,*/*;q=0.5",
            "Accept-Encoding": "identity",
            "Connection": "close",
        },
        timeout=timeout,
        max_bytes=max_bytes,
        max_redirects=max_redirects,
        allow_hosts={*outbound.allowed_private_hosts(), *(h.lower() for h in allow_hosts)},
        check_hop=on_the_list,
    )
    if response.status >= 500 or response.status == 429:
        raise Transient(f"The site answered {response.status}.")
    return Page(response.url, response.status, response.body, response.truncated, response.charset)


_DROP = re.compile(r"<(script|style|noscript)\b.*?</\1\s*>", re.I | re.S)
_TAGS = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def page_text(body: bytes, charset: str) -> str:
    """Visible-ish text of an HTML page: scripts and tags dropped, entities decoded."""
    try:
        raw = body.decode(charset, errors="replace")
    except LookupError:
        raw = body.decode("utf-8", errors="replace")
    return _SPACE.sub(" ", html.unescape(_TAGS.sub(" ", _DROP.sub(" ", raw)))).strip()


def excerpt(text: str, marker: str | None, width: int = 160) -> tuple[str, bool]:
    """(a short excerpt of `text`, whether `marker` occurs). Around the marker if found."""
    if marker:
        at = text.casefold().find(marker.casefold())
        if at >= 0:
            start = max(0, at - width)
            end = min(len(text), at + len(marker) + width)
            return ("…" if start else "") + text[start:end] + ("…" if end < len(text) else ""), True
    return text[: 2 * width] + ("…" if len(text) > 2 * width else ""), False
