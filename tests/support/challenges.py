"""Helpers shared by the challenges tests (imported by name; the directory is on sys.path)."""

from __future__ import annotations

import contextlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULTS = {
    "title": "Review us on G2",
    "type": "custom",
    "description": "Tell us **what** you did.",
    "points": 150,
}


def create_challenge(actor_id: int | None = None, publish: bool = True, **overrides):
    """A committed challenge (published unless told otherwise); works in any app context."""
    from challenges import services
    from hub.extensions import db

    data = DEFAULTS | overrides
    challenge = services.create_challenge(services.clean_challenge(data), actor_id)
    if publish:
        services.publish_challenge(challenge.id, actor_id)
    db.session.commit()
    return challenge


class Site:
    """A tiny web server on 127.0.0.1 with the pages url_check tests need."""

    MARKER = "Vouch-Verified-42"

    def __init__(self) -> None:
        site = self
        self.hits: list[str] = []
        self.block = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                site.hits.append(self.path)
                path = self.path.split("?")[0]
                if path == "/review":
                    self._page(
                        f"<html><body><h1>Great tool</h1><p>Five stars. {site.MARKER}</p>"
                        "<script>var x = 1;</script></body></html>"
                    )
                elif path == "/nomarker":
                    self._page("<html><body><p>Just a page about something else.</p></body></html>")
                elif path == "/redirect-private":
                    self._redirect(f"http://127.0.0.1:{site.port}/review")
                elif path == "/redirect-same":
                    self._redirect(f"http://localhost:{site.port}/review")
                elif path.startswith("/loop"):
                    n = int(path.removeprefix("/loop") or 0)
                    self._redirect(f"/loop{n + 1}")
                elif path == "/big":
                    self._page("<p>" + "x" * (2 * 1024 * 1024) + site.MARKER + "</p>")
                elif path == "/slow":
                    time.sleep(1.5)
                    self._page(site.MARKER)
                elif path == "/hang":
                    site.block.wait(30)
                    self._page(site.MARKER)
                elif path == "/hang-once":
                    if site.hits.count("/hang-once") == 1:
                        site.block.wait(30)
                    self._page(f"<p>{site.MARKER}</p>")
                elif path == "/error":
                    self.send_response(503)
                    self.end_headers()
                else:
                    self.send_response(404)
                    self.end_headers()

            def _page(self, body: str) -> None:
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(data)

            def _redirect(self, location: str) -> None:
                self.send_response(302)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str, host: str = "localhost") -> str:
        return f"http://{host}:{self.port}{path}"

    def close(self) -> None:
        self.block.set()
        self.server.shutdown()
        self.server.server_close()
