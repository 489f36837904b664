"""Browser tier: the app served for real and Debian's Chromium driven by Playwright (sync API).

- `live_server` (module): the app on a fresh migrated SQLite file, served by Werkzeug in a
  thread on 127.0.0.1:<random port>, CSRF on, rate limits off; `VOUCH_BASE_URL` is its URL so
  emailed links open in the browser. Tables are emptied after each test.
- `browser` (session) and `page` (per test, its own context); `new_page()` opens another
  context (a second person). A failing test leaves a screenshot in test-artifacts/.
- Without /usr/bin/chromium these tests skip with the reason, or fail when
  VOUCH_REQUIRE_SERVICES=1 (CI).
"""

from __future__ import annotations

import logging
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.support.environment import REQUIRE_SERVICES, TEST_PASSWORD, build_app, clear_tables

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@dataclass
class LiveServer:
    app: Flask
    url: str

    def __str__(self) -> str:  # so f"{live_server}/path" reads as the URL
        return self.url


@pytest.fixture(scope="module")
def live_server(sqlite_template: Path, tmp_path_factory) -> Iterator[LiveServer]:
    from hub.extensions import db, limiter

    path = tmp_path_factory.mktemp("live") / "vouch-live.db"
    shutil.copy(sqlite_template, path)
    saved_limiter = dict(vars(limiter))
    app = build_app(f"sqlite:///{path}", WTF_CSRF_ENABLED=True, RATELIMIT_ENABLED=False)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["VOUCH_BASE_URL"] = url
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield LiveServer(app, url)
    server.shutdown()
    thread.join()
    server.server_close()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    vars(limiter).clear()
    vars(limiter).update(saved_limiter)


@pytest.fixture()
def live(live_server: LiveServer) -> Iterator[LiveServer]:
    """The live server for one test, with an app context for setting up and checking data;
    its tables are emptied afterwards.

    The test thread's transactions start as readers (plain BEGIN, not BEGIN IMMEDIATE):
    under WAL a reader never blocks the server's writers, so an object lazily loaded while
    the browser waits cannot stall the server. Call `db.session.rollback()` before reading
    what the server wrote, to leave the old snapshot.
    """
    from hub.db import write_intent
    from hub.extensions import db

    reset = write_intent.set(False)
    with live_server.app.app_context():
        yield live_server
        db.session.remove()
    write_intent.reset(reset)
    queue = live_server.app.extensions["vouch_queue"]
    queue.join()
    clear_tables(live_server.app)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (apt-get install chromium; `make test` does it as root)"
        if REQUIRE_SERVICES:
            pytest.fail(f"VOUCH_REQUIRE_SERVICES=1 but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@dataclass
class Pages:
    """Browser contexts opened by one test, with the console errors they logged."""

    browser: object
    live: LiveServer
    opened: list = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def new(self, width: int = 1280, height: int = 900):
        context = self.browser.new_context(base_url=self.live.url, viewport={"width": width, "height": height})
        context.set_default_timeout(10_000)
        page = context.new_page()
        page.on("console", lambda msg: msg.type == "error" and self.errors.append(f"console: {msg.text}"))
        page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        page.on(
            "requestfailed",
            lambda req: (
                req.failure != "net::ERR_ABORTED"  # aborted by navigating on
                and self.errors.append(f"request failed: {req.url} {req.failure}")
            ),
        )
        page.on("response", lambda res: res.status >= 500 and self.errors.append(f"{res.status}: {res.url}"))
        page.on("response", lambda res: res.status == 404 and self.errors.append(f"404: {res.url}"))
        self.opened.append(context)
        return page


@pytest.fixture()
def pages(browser, live: LiveServer, request) -> Iterator[Pages]:
    opened = Pages(browser, live)
    yield opened
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        safe = re.sub(r"[^\w.-]+", "_", request.node.nodeid)
        for n, context in enumerate(opened.opened):
            for k, open_page in enumerate(context.pages):
                open_page.screenshot(path=str(ARTIFACTS / f"{safe}-{n}-{k}.png"), full_page=True)
    for context in opened.opened:
        context.close()


@pytest.fixture()
def page(pages: Pages):
    return pages.new()


@pytest.fixture()
def log_in() -> Callable:
    def do(page, email: str, password: str = TEST_PASSWORD) -> None:
        page.goto("/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password", exact=True).fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state()

    return do


# Names some journeys use: the app, a page for one person, and the usual row factory.
@pytest.fixture()
def live_app(live: LiveServer) -> Flask:
    return live.app


@pytest.fixture()
def browser_page(page):
    return page


@pytest.fixture()
def live_factory():
    from tests.support.factories import Factory

    return Factory()


# Werkzeug's development server, which serves the live app, leaves a static file's handle for the
# garbage collector when Chromium drops that request mid-transfer (navigating on): the warning
# then surfaces in whichever later test runs the collector. Only the live server's static files
# are let through; any other unclosed resource still fails the test.
STATIC_FILE_LEFT_BY_THE_DEV_SERVER = (
    r"ignore:Exception ignored in. <_io\.(FileIO|BufferedReader) name='[^']*/static/"
    r":pytest.PytestUnraisableExceptionWarning"
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.filterwarnings(STATIC_FILE_LEFT_BY_THE_DEV_SERVER))
