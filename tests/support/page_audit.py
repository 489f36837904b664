"""The every-page audit for browser tests: one call checks a page at phone and desktop widths.

`audit_page(page, path)` opens `path` in a Playwright page at 360, 390 and 1366 px wide and
returns what is wrong, one readable line per problem (an empty list means the page passed):

- horizontal overflow: `document.documentElement.scrollWidth > window.innerWidth`;
- any console error or uncaught page error while the page loads and settles;
- any text node wider than the box it lives in (a long unbroken word that does not wrap),
  except text inside a box that scrolls sideways on purpose (a wide table's wrapper) and
  visually hidden text (the `.sr-only` pattern clips it to 1 px);
- axe-core's serious and critical violations (WCAG 2 A/AA rules), at each width.

A full-page screenshot per page and width is saved under test-artifacts/screens/ (git-ignored)
as `<name>-<width>.png`, so a run leaves a picture of every page it audited.

axe-core comes from the npm registry (package.json) and the Makefile `vendor` target copies it
to static/vendor/axe.min.js; the audit adds it with a same-origin <script src>, which the strict
CSP (`script-src 'self'`) allows, so the page under test keeps its real policy. No template
references it: users never load it.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCREENS = ROOT / "test-artifacts" / "screens"
AXE_SOURCE = ROOT / "static" / "vendor" / "axe.min.js"
AXE_URL = "/static/vendor/axe.min.js"
WIDTHS = (360, 390, 1366)
HEIGHT = 900
SERIOUS = ("serious", "critical")

# Each entry is one problem; the page's own layout decides, measured in CSS pixels.
MEASURE = """() => {
  const problems = [];
  const doc = document.documentElement;
  if (doc.scrollWidth > window.innerWidth) {
    const wide = [...document.querySelectorAll('body *')]
      .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1)
      .slice(0, 5)
      .map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
                 (typeof el.className === 'string' && el.className ? '.' + el.className.split(' ')[0] : ''));
    problems.push(`horizontal overflow: scrollWidth ${doc.scrollWidth} > innerWidth ${window.innerWidth}` +
                  ` (${wide.join(', ')})`);
  }
  const skipped = new Set(['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE', 'OPTION', 'TITLE']);
  const hidden = (el) => {
    for (let node = el; node && node !== document.body; node = node.parentElement) {
      const style = getComputedStyle(node);
      if (style.display === 'none' || style.visibility === 'hidden') return true;
      if (style.clip !== 'auto' && style.position === 'absolute') return true;
      if (node.getBoundingClientRect().width <= 1) return true;
    }
    return false;
  };
  const box = (el) => {
    let node = el;
    while (node.parentElement && getComputedStyle(node).display.startsWith('inline')) node = node.parentElement;
    return node;
  };
  const label = (el) => el.tagName.toLowerCase() +
    (typeof el.className === 'string' && el.className ? '.' + el.className.split(' ')[0] : '');
  // The first box the text sticks out of: its own block, or a block around it (a table cell's
  // text inside a table wider than its card). Climbing stops at a box that scrolls or clips
  // (overflow on purpose) and after an absolutely positioned one (a badge placed outside).
  const escaped = (rect, start) => {
    for (let node = start; node && node !== document.documentElement; node = node.parentElement) {
      const style = getComputedStyle(node);
      if (style.display.startsWith('inline') || style.display === 'contents') continue;
      if (style.overflowX !== 'visible') return null;
      const outer = node.getBoundingClientRect();
      const left = outer.left + parseFloat(style.borderLeftWidth);
      const right = outer.right - parseFloat(style.borderRightWidth);
      if (rect.left < left - 1 || rect.right > right + 1) return {node, width: right - left};
      if (style.position === 'absolute' || style.position === 'fixed') return null;
    }
    return null;
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  for (let text = walker.nextNode(); text; text = walker.nextNode()) {
    const parent = text.parentElement;
    if (!parent || skipped.has(parent.tagName) || !text.textContent.trim()) continue;
    range.selectNodeContents(text);
    const rect = range.getBoundingClientRect();
    if (rect.width === 0) continue;
    const out = escaped(rect, box(parent));
    if (out === null || hidden(parent)) continue;
    problems.push(`text wider than its container ${label(out.node)}` +
                  ` (${Math.round(rect.width)} px in ${Math.round(out.width)} px): ` +
                  JSON.stringify(text.textContent.trim().slice(0, 60)));
  }
  return problems;
}"""

AXE_RUN = """async () => {
  const result = await window.axe.run(document, {
    runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']},
    resultTypes: ['violations'],
  });
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.slice(0, 3).map(n => n.target.join(' ')),
  }));
}"""


def _file_name(name: str, width: int) -> str:
    return f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name).strip('_') or 'page'}-{width}.png"


def audit_page(page, path: str, *, name: str | None = None, widths: tuple[int, ...] = WIDTHS) -> list[str]:
    """Open `path` (relative to the page's base URL) at each width and return its problems.

    `page` is a Playwright sync Page; `name` names the screenshots (default: the path). Each
    problem is a line "<path> @ <width>px: <what>". Raises FileNotFoundError when axe-core is
    not vendored (run `make vendor`), so a missing accessibility check can never pass silently.
    """
    if not AXE_SOURCE.exists():
        raise FileNotFoundError(f"{AXE_SOURCE} is missing: run `make vendor` (axe-core from npm)")
    SCREENS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    for width in widths:
        logged: list[str] = []

        def on_console(message, logged=logged) -> None:
            if message.type == "error":
                logged.append(f"console error: {message.text}")

        def on_page_error(error, logged=logged) -> None:
            logged.append(f"page error: {error}")

        page.on("console", on_console)
        page.on("pageerror", on_page_error)
        try:
            page.set_viewport_size({"width": width, "height": HEIGHT})
            page.goto(path)
            page.wait_for_load_state("networkidle")
            found = list(page.evaluate(MEASURE))
            page.screenshot(path=str(SCREENS / _file_name(name or path, width)), full_page=True)
            page.add_script_tag(url=AXE_URL)
            for violation in page.evaluate(AXE_RUN):
                if violation["impact"] in SERIOUS:
                    found.append(
                        f"axe {violation['impact']} {violation['id']}: {violation['help']} "
                        f"at {', '.join(violation['targets'])}"
                    )
        finally:
            page.remove_listener("console", on_console)
            page.remove_listener("pageerror", on_page_error)
        problems.extend(f"{path} @ {width}px: {line}" for line in logged + found)
    return problems


def assert_pages_pass(page, paths: dict[str, str], *, widths: tuple[int, ...] = WIDTHS) -> None:
    """Audit every page in `paths` ({screenshot name: path}) and fail once, listing every problem."""
    problems: list[str] = []
    for name, path in paths.items():
        problems.extend(audit_page(page, path, name=name, widths=widths))
    assert not problems, "page audit failed:\n" + "\n".join(problems)
