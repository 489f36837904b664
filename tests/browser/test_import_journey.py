"""A manager imports advocates in a real browser: the upload answers at once with a progress bar
that htmx moves while the background job runs, and the error report names the bad row's line."""

from __future__ import annotations

import dataclasses
import re
import threading

import pytest
from playwright.sync_api import expect

from hub import imports
from hub.queue import job_timeout

pytestmark = pytest.mark.browser

CSV = (
    b"name,email,company\r\nGood One,good.one@example.net,Acme\r\n\r\n"
    b"Bad Two,not-an-email,Acme\r\nZo\xc3\xab,zoe@example.net,\r\n"
)


@pytest.fixture()
def held_import_job(monkeypatch):
    """The advocates import job waits until the test releases it, so the page is seen queued."""
    release = threading.Event()
    real_job = imports.ADVOCATES.job

    @job_timeout(60)
    def held(import_id: int) -> None:
        release.wait(20)
        real_job(import_id)

    monkeypatch.setattr(imports, "ADVOCATES", dataclasses.replace(imports.ADVOCATES, job=held))
    return release


def test_advocates_import_shows_progress_then_the_report(page, pages, make, log_in, held_import_job):
    manager = make.user("manager")
    log_in(page, manager.email)
    page.goto("/admin/advocates/import")
    page.get_by_label("CSV file").set_input_files({"name": "people.csv", "mimeType": "text/csv", "buffer": CSV})
    page.get_by_role("button", name="Import").click()

    expect(page).to_have_url(re.compile(r"/admin/advocates/imports/\d+$"))
    expect(page.get_by_role("heading", name="Importing people.csv")).to_be_visible()
    bar = page.locator("#import-progress progress")
    expect(page.locator("#import-progress label")).to_have_text("0 of 3 rows (0%) — queued")
    expect(bar).to_have_attribute("value", "0")

    held_import_job.set()  # the job runs; htmx polls the partial every second
    expect(page.locator("#import-progress label")).to_have_text("3 of 3 rows (100%) — done", timeout=15_000)
    expect(bar).to_have_attribute("value", "100")
    expect(page.get_by_test_id("import-summary")).to_contain_text("2 invited")
    expect(page.get_by_test_id("import-summary")).to_contain_text("1 rows with errors")
    rows = page.locator("table.import-problems tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("td").first).to_have_text("4")
    expect(rows.first.locator("td").nth(1)).to_contain_text("email")
    assert pages.errors == []


def test_a_windows_1252_file_is_refused_on_the_form(page, pages, make, log_in):
    manager = make.user("manager")
    log_in(page, manager.email)
    page.goto("/admin/advocates/import")
    raw = "name,email,company\r\nZoë Müller,zoe@example.net,Société Générale\r\n".encode("cp1252")
    page.get_by_label("CSV file").set_input_files({"name": "excel.csv", "mimeType": "text/csv", "buffer": raw})
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_text(re.compile(r"Line 2 is not UTF-8.*CSV UTF-8"))).to_be_visible()
    expect(page).to_have_url(re.compile(r"/admin/advocates/import$"))
