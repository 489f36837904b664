"""The guarded HTTP client (hub.outbound): refused targets get nothing, redirects are checked again."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from hub import outbound


class Server:
    """A server on 127.0.0.1 recording every request; `/go?to=URL` redirects to URL."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                server.hits.append(self.path)
                if self.path.startswith("/go?to="):
                    self.send_response(302)
                    self.send_header("Location", self.path.removeprefix("/go?to="))
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.end_headers()
                self.wfile.write(b"hello")

            do_POST = do_GET

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_port
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def server() -> Iterator[Server]:
    made = Server()
    yield made
    made.close()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/",
        "http://[::1]:{port}/",
        "http://localhost:{port}/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:127.0.0.1]:{port}/",
        "http://100.64.0.1/",
        "ftp://127.0.0.1:{port}/",
        "http://u:p@127.0.0.1:{port}/",
    ],
)
def test_private_targets_are_refused_before_anything_is_sent(server, url):
    with pytest.raises(outbound.Refused):
        outbound.request("GET", url.format(port=server.port), allow_hosts=())
    assert server.hits == []


def test_an_allow_listed_private_host_is_reached(server):
    response = outbound.request("GET", f"http://127.0.0.1:{server.port}/x", allow_hosts=["127.0.0.1"])
    assert (response.status, response.body, server.hits) == (200, b"hello", ["/x"])


def test_a_redirect_to_a_private_address_is_checked_again_and_refused(server):
    """`localhost` is allow-listed by name; its redirect to the literal 127.0.0.1 is not."""
    to = f"http://127.0.0.1:{server.port}/secret"
    with pytest.raises(outbound.Refused):
        outbound.request(
            "GET", f"http://localhost:{server.port}/go?to={to}", allow_hosts=["localhost"], max_redirects=3
        )
    assert server.hits == [f"/go?to={to}"]


def test_a_redirect_is_not_followed_unless_asked(server):
    to = f"http://localhost:{server.port}/next"
    response = outbound.request(
        "POST", f"http://localhost:{server.port}/go?to={to}", body=b"{}", allow_hosts=["localhost"]
    )
    assert response.status == 302 and server.hits == [f"/go?to={to}"]


def test_the_app_setting_is_the_allow_list(app, server):
    with app.app_context():
        with pytest.raises(outbound.Refused):
            outbound.request("GET", f"http://127.0.0.1:{server.port}/")
        app.config["VOUCH_OUTBOUND_ALLOW_HOSTS"] = ["127.0.0.1"]
        try:
            assert outbound.request("GET", f"http://127.0.0.1:{server.port}/").status == 200
        finally:
            app.config["VOUCH_OUTBOUND_ALLOW_HOSTS"] = []
    assert server.hits == ["/"]


def test_no_other_module_opens_outbound_connections():
    """Every outbound HTTP request goes through hub.outbound (one guarded client): no other
    application module uses an HTTP library or opens sockets itself."""
    import re
    from pathlib import Path

    root = Path(__file__).parents[2]
    pattern = re.compile(
        r"^\s*(import|from)\s+(urllib\.request|urllib3|http\.client|requests|httpx|aiohttp|socket)\b"
        r"|socket\.create_connection|urlopen\(",
        re.M,
    )
    offenders = [
        str(path.relative_to(root))
        for package in ("hub", "rewards", "challenges", "admin")
        for path in (root / package).rglob("*.py")
        if path.name != "outbound.py" and "migrations" not in path.parts and pattern.search(path.read_text())
    ]
    assert offenders == []
