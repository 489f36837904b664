"""The one HTTP client for every request Vouch makes to another server (webhook posts, URL
checks of evidence), guarded against server-side request forgery (issue 13 item 3,
reliability.md case 45).

Rules, for the first URL and for every redirect hop (each is checked again):
- http:// or https:// only, no user name or password in the URL, a valid port;
- the address the connection goes to must be public (not loopback, private, link-local,
  carrier-grade NAT, multicast, reserved, unspecified; IPv4-mapped IPv6 is unwrapped). The
  host is resolved when connecting, every address it resolves to is checked, and the socket
  connects to one of exactly those addresses, so a DNS answer cannot change in between;
- a private target is reachable only when its host (name or IP literal, exactly as written in
  the URL) is in VOUCH_OUTBOUND_ALLOW_HOSTS (VOUCH_VERIFY_ALLOW_HOSTS counts too, its older name
  for URL checks).
A refused target raises `Refused` before any byte is sent. Network trouble raises `Transient`.
One deadline covers the whole exchange; the body is read up to `max_bytes`.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from flask import current_app, has_app_context

REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
DEFAULT_TIMEOUT_SECONDS = 5.0
DEFAULT_MAX_BYTES = 1024 * 1024


class Refused(Exception):
    """The URL may not be requested (scheme, credentials, private address, too many redirects)."""


class Transient(Exception):
    """A network problem worth retrying later (timeout, refused connection, DNS failure)."""


@dataclass(frozen=True)
class Target:
    """One checked hop: `path` includes the query string."""

    scheme: str
    host: str
    port: int
    path: str


@dataclass(frozen=True)
class Response:
    url: str
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    truncated: bool

    @property
    def charset(self) -> str:
        return self.headers.get_content_charset() or "utf-8"


def allowed_private_hosts() -> frozenset[str]:
    """Hosts the owner allowed to be private (VOUCH_OUTBOUND_ALLOW_HOSTS, VOUCH_VERIFY_ALLOW_HOSTS),
    lower case; empty outside an app."""
    if not has_app_context():
        return frozenset()
    config = current_app.config
    hosts = [*(config.get("VOUCH_OUTBOUND_ALLOW_HOSTS") or ()), *(config.get("VOUCH_VERIFY_ALLOW_HOSTS") or ())]
    return frozenset(h.strip().lower().strip("[]") for h in hosts if h.strip())


def is_public(address: str) -> bool:
    """Whether an IP address (string, IPv6 zone allowed) is a public unicast address."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_link_local or ip.is_loopback)


def check_url(url: str, allow_hosts: Iterable[str] | None = None) -> Target:
    """The checks that need no network: scheme, credentials, port, host; an IP literal or
    `localhost` must be public unless allow-listed. Raises Refused."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise Refused("That is not a valid link.") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise Refused("Only http:// and https:// links can be used.")
    if parts.username is not None or parts.password is not None:
        raise Refused("Links with a user name or password are not allowed.")
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise Refused("The link has no host name.")
    allowed = allowed_private_hosts() if allow_hosts is None else {h.lower() for h in allow_hosts}
    if host not in allowed:
        try:
            literal = str(ipaddress.ip_address(host))
        except ValueError:
            literal = None
        if (literal is not None and not is_public(literal)) or host == "localhost" or host.endswith(".localhost"):
            raise Refused(f"{host} is a private or reserved address; Vouch does not send requests there.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(scheme, host, port or (443 if scheme == "https" else 80), path)


def resolve(host: str, port: int) -> list[str]:
    """Addresses for `host` (an IP literal resolves to itself). Raises Transient."""
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Transient(f"Could not look up {host}: {exc}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise Transient(f"Could not look up {host}.")
    return addresses


def connect_checked(host: str, port: int, timeout: float | None, allowed: frozenset[str]) -> socket.socket:
    """Resolve `host`, refuse if any address is private (unless allow-listed), then connect to
    one of the checked addresses (never resolving again). Raises Refused or OSError."""
    addresses = resolve(host, port)
    if host not in allowed:
        for address in addresses:
            if not is_public(address):
                raise Refused(f"{host} points to a private or reserved address; it was not contacted.")
    error: OSError | None = None
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout)
        except OSError as exc:
            error = exc
    raise error or OSError("no address")


class _CheckedHTTP(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, timeout: float, allowed: frozenset[str]) -> None:
        super().__init__(host, port, timeout=timeout)
        self._allowed = allowed

    def connect(self) -> None:
        self.sock = connect_checked(self.host, self.port, self.timeout, self._allowed)


class _CheckedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, timeout: float, allowed: frozenset[str]) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._allowed = allowed

    def connect(self) -> None:
        sock = connect_checked(self.host, self.port, self.timeout, self._allowed)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def request(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_redirects: int = 0,
    allow_hosts: Iterable[str] | None = None,
    check_hop: Callable[[Target], None] | None = None,
) -> Response:
    """Send one request under the rules above and read the answer (at most `max_bytes`).

    Redirects are followed up to `max_redirects` (0: a 3xx is returned as it is), each hop
    checked again; 303 (and 301/302 after a POST) continue as GET without a body. `check_hop`
    adds a caller's rule per hop (it raises Refused). `timeout` in seconds for the whole
    exchange. Raises Refused (nothing sent) or Transient."""
    deadline = time.monotonic() + timeout
    allowed = allowed_private_hosts() if allow_hosts is None else frozenset(h.lower() for h in allow_hosts)
    for _hop in range(max_redirects + 1):
        target = check_url(url, allowed)
        if check_hop is not None:
            check_hop(target)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise Transient(f"No answer within {timeout:g} seconds.")
        cls = _CheckedHTTPS if target.scheme == "https" else _CheckedHTTP
        conn = cls(target.host, target.port, remaining, allowed)
        try:
            conn.request(method, target.path, body=body, headers=dict(headers or {}))
            response = conn.getresponse()
            location = response.getheader("Location")
            if response.status in REDIRECT_CODES and location and max_redirects:
                url = urljoin(url, location)
                if response.status == 303 or (response.status in (301, 302) and method == "POST"):
                    method, body = "GET", None
                continue
            data, truncated = _read_limited(response, max_bytes, deadline, timeout)
            return Response(url, response.status, response.headers, data, truncated)
        except ssl.SSLError as exc:
            raise Refused(f"The site's certificate could not be verified ({exc.reason}).") from None
        except (TimeoutError, OSError, http.client.HTTPException) as exc:
            raise Transient(f"Could not reach the server: {exc.__class__.__name__}.") from None
        finally:
            conn.close()
    raise Refused(f"The link redirects more than {max_redirects} times.")


def _read_limited(
    response: http.client.HTTPResponse, max_bytes: int, deadline: float, timeout: float
) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    while size <= max_bytes:
        if time.monotonic() > deadline:
            raise Transient(f"No answer within {timeout:g} seconds.")
        chunk = response.read1(64 * 1024)
        if not chunk:
            return b"".join(chunks), False
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)[:max_bytes], True
