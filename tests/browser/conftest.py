"""Browser tier: a live Vouch server in a thread and Playwright driving Debian's Chromium.

- `live_app` (session): the app on its own migrated SQLite file, CSRF on, jobs in-process.
- `live_server`: the base URL of a server on 127.0.0.1 (random port); tables are emptied
  after each test.
- `browser_page`: a fresh Playwright page; on failure a screenshot goes to test-artifacts/.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ROOT_CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"


@pytest.fixture(scope="session")
def shared(pytestconfig):
    """tests/conftest.py as a module (build_app, migrate, clear_tables, Factory)."""
    return pytestconfig.pluginmanager.get_plugin(str(ROOT_CONFTEST))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def live_app(tmp_path_factory, shared):
    path = tmp_path_factory.mktemp("live") / "vouch-live.db"
    application = shared.build_app(f"sqlite:///{path}", WTF_CSRF_ENABLED=True)
    shared.migrate(application)
    return application


@pytest.fixture(scope="session")
def _live_server_base(live_app) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture()
def live_server(live_app, _live_server_base, shared) -> Iterator[str]:
    yield _live_server_base
    queue = live_app.extensions.get("vouch_queue")
    if hasattr(queue, "join"):
        queue.join()
    shared.clear_tables(live_app)


@pytest.fixture(scope="session")
def _browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        yield browser
        browser.close()


@pytest.fixture()
def browser_page(_browser, request):
    context = _browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.fixture()
def live_factory(shared):
    """The usual factory; use it inside `with live_app.app_context():` and keep plain values."""
    return shared.Factory()
