"""An SSRF-safe page fetch for `url_check` (product.md §4, reliability.md case 45).

Every hop (the first URL and each of at most 3 redirects) is checked the same way:
http(s) only, no credentials in the URL, host on the challenge's allowed-domain list, and
every address the host resolves to must be public — unless the host is listed in
VOUCH_VERIFY_ALLOW_HOSTS. The connection goes to the address that was checked (pinned), so
a DNS answer that changes between check and connect cannot redirect the request. The whole
fetch has a 5 s deadline and reads at most 1 MiB.
"""

from __future__ import annotations

import html
import http.client
import ipaddress
import re
import socket
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

MAX_BYTES = 1024 * 1024
MAX_REDIRECTS = 3
TIMEOUT_SECONDS = 5.0
USER_AGENT = "VouchVerifier/1.0 (+advocate program evidence check)"
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})


class Refused(Exception):
    """The URL may not be fetched (scheme, domain, private address, too many redirects)."""


class Transient(Exception):
    """A network problem worth retrying later (timeout, refused connection, 5xx, DNS)."""


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


def _public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_link_local or ip.is_loopback)


def resolve(host: str, port: int) -> list[str]:
    """Addresses for host (an IP literal resolves to itself)."""
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Transient(f"Could not look up {host}: {exc}") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def check_target(url: str, domains: Iterable[str], allow_hosts: Iterable[str]) -> tuple[str, str, int, str, list[str]]:
    """Validate one hop; returns (scheme, host, port, path, checked addresses) or raises Refused."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise Refused("That is not a valid link.") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise Refused("Only http:// and https:// links can be checked.")
    if parts.username is not None or parts.password is not None:
        raise Refused("Links with a user name or password are not checked.")
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise Refused("The link has no host name.")
    domains = list(domains)
    if not host_allowed(host, domains):
        raise Refused(f"{host} is not one of the allowed sites ({', '.join(domains) or 'none set'}).")
    port = port or (443 if scheme == "https" else 80)
    addresses = resolve(host, port)
    if host not in {h.lower() for h in allow_hosts}:
        for address in addresses:
            if not _public(ipaddress.ip_address(address.split("%")[0])):
                raise Refused(f"{host} points to a private or reserved address; it was not fetched.")
    if not addresses:
        raise Transient(f"Could not look up {host}.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, host, port, path, addresses


def _connect_any(addresses: list[str], port: int, timeout: float | None) -> socket.socket:
    """Connect to the first reachable address of those already checked (never re-resolves)."""
    error: OSError | None = None
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout)
        except OSError as exc:
            error = exc
    raise error or OSError("no address")


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, addresses: list[str], timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._addresses = addresses

    def connect(self) -> None:
        self.sock = _connect_any(self._addresses, self.port, self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, addresses: list[str], timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._addresses = addresses

    def connect(self) -> None:
        sock = _connect_any(self._addresses, self.port, self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def fetch(
    url: str,
    domains: Iterable[str],
    allow_hosts: Iterable[str] = (),
    timeout: float = TIMEOUT_SECONDS,
    max_bytes: int = MAX_BYTES,
    max_redirects: int = MAX_REDIRECTS,
) -> Page:
    """GET `url` under the rules above. Raises Refused or Transient."""
    deadline = time.monotonic() + timeout
    domains, allow_hosts = list(domains), list(allow_hosts)
    for _hop in range(max_redirects + 1):
        scheme, host, port, path, addresses = check_target(url, domains, allow_hosts)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise Transient("The page took longer than 5 seconds.")
        cls = _PinnedHTTPS if scheme == "https" else _PinnedHTTP
        conn = cls(host, port, addresses, remaining)
        try:
            conn.request(
                "GET",
                path,
                headers={
                    "User-Agent": USER_AGENT,
                    "Accept": "text/html,*/*;q=0.5",
                    "Accept-Encoding": "identity",
                    "Connection": "close",
                },
            )
            response = conn.getresponse()
            if response.status in REDIRECT_CODES and response.getheader("Location"):
                url = urljoin(url, response.getheader("Location", ""))
                continue
            if response.status >= 500 or response.status == 429:
                raise Transient(f"The site answered {response.status}.")
            body, truncated = _read_limited(response, max_bytes, deadline)
            charset = response.headers.get_content_charset() or "utf-8"
            return Page(url, response.status, body, truncated, charset)
        except ssl.SSLError as exc:
            raise Refused(f"The site's certificate could not be verified ({exc.reason}).") from None
        except (TimeoutError, OSError, http.client.HTTPException) as exc:
            raise Transient(f"Could not fetch the page: {exc.__class__.__name__}.") from None
        finally:
            conn.close()
    raise Refused(f"The link redirects more than {max_redirects} times.")


def _read_limited(response: http.client.HTTPResponse, max_bytes: int, deadline: float) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    while size <= max_bytes:
        if time.monotonic() > deadline:
            raise Transient("The page took longer than 5 seconds.")
        chunk = response.read1(64 * 1024) if hasattr(response, "read1") else response.read(64 * 1024)
        if not chunk:
            return b"".join(chunks), False
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)[:max_bytes], True


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
