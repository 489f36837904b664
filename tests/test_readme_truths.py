"""The README says what the code does: every environment variable the application reads is in
its configuration table, and the code and README point at nothing outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[1]
PACKAGES = ("hub", "rewards", "challenges", "admin")
# Read only by the test suite and the benchmark, documented in their own README sections.
NOT_CONFIGURATION = {"VOUCH_TEST_DATABASE_URL", "VOUCH_TEST_REDIS_URL", "VOUCH_TEST_RUN_ID", "VOUCH_REQUIRE_SERVICES"}


def _variables_read_by_the_code() -> set[str]:
    reads = re.compile(
        r"""(?:environ(?:\.get)?|getenv|env\.get)\(\s*["']([A-Z][A-Z0-9_]+)["']|environ\[["']([A-Z][A-Z0-9_]+)["']\]"""
    )
    found: set[str] = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for match in reads.finditer(path.read_text()):
                found.add(match.group(1) or match.group(2))
    return found - NOT_CONFIGURATION


def test_every_environment_variable_the_code_reads_is_documented():
    readme = (ROOT / "README.md").read_text()
    table = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", readme, re.M))
    read = _variables_read_by_the_code()
    assert {"SECRET_KEY", "VOUCH_MAIL_FROM", "VOUCH_API_RATE_LIMIT"} <= read  # the scan sees the config module
    assert read - table == set()


def test_nothing_points_outside_the_repository():
    outside = re.compile(r"\.\./shared|/work/|shared/spec")
    offenders = []
    for path in [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]:
        if outside.search(path.read_text()):
            offenders.append(str(path.relative_to(ROOT)))
    for package in (*PACKAGES, "bench", "tests"):
        for path in (ROOT / package).rglob("*.py"):
            if path.name != Path(__file__).name and outside.search(path.read_text()):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
    cited = {"api.md", "product.md", "reliability.md", "architecture.md", "ux.md"}
    assert {p.name for p in (ROOT / "docs" / "spec").glob("*.md")} >= cited
