"""What every browser test shares: Debian's Chromium driven by Playwright (never a browser
Playwright downloads), the app with the demo clinic under a real HTTP server on loopback,
signing in as a demo role through the form, and the checks every page gets:

- `axe_violations(page)`: Deque's axe-core (from the npm registry, pinned in
  tests/axe/package.json, installed once with `npm ci` under a file lock) injected into the
  page; the serious and critical violations it finds;
- `sideways_overflow(page)`: how many CSS pixels the page is wider than its viewport
  (0 on a 360-px phone, or the page scrolls sideways);
- `shot(page, name)`: a full-page screenshot under test-artifacts/screenshots/ (kept by
  CI as the run's artefacts; gitignored).

Use: `from browser import *  # noqa: F403` in a test module; its tests are skipped with
the reason where Chromium, node or npm are missing (under CI=true a skip fails the run).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from pageutil import DEMO_LOGINS
from werkzeug.serving import make_server

playwright = pytest.importorskip("playwright.sync_api")
expect = playwright.expect

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "test-artifacts" / "screenshots"
AXE = Path(__file__).resolve().parent / "axe"
AXE_SCRIPT = AXE / "node_modules" / "axe-core" / "axe.min.js"
AXE_VERSION = json.loads((AXE / "package.json").read_text())["dependencies"]["axe-core"]
LOCK = Path(tempfile.gettempdir()) / "athlete_sched-axe.lock"
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}

browser_marks = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason=f"Chromium not found at {CHROMIUM}; .ci/run installs it"),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def server(app, runner) -> Iterator[str]:
    """The app with the demo clinic, served over real HTTP from a background thread."""
    with app.app_context():
        result = runner.invoke(args=["demo"])
        assert result.exit_code == 0, result.output
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(timeout=10)
    httpd.server_close()


def sign_in(page: Any, server: str, email: str, password: str, remember: bool = False) -> None:
    """Sign in through the form, as a person would."""
    page.goto(server + "/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    if remember:
        page.get_by_label("Keep me signed in on this device").check()
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


@contextmanager
def as_role(browser: Any, server: str, role: str | None, *, javascript: bool = True,
            viewport: dict[str, int] | None = None) -> Iterator[Any]:
    """A fresh browser context's page, signed in as the demo `role` (None: anonymous)."""
    context = browser.new_context(java_script_enabled=javascript,
                                  viewport=viewport or DESKTOP)
    page = context.new_page()
    try:
        if role is not None:
            sign_in(page, server, *DEMO_LOGINS[role])
        yield page
    finally:
        context.close()


@cache
def _axe_unavailable() -> str | None:
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed: the accessibility checks install axe-core"
    with LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not AXE_SCRIPT.exists():
            done = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=AXE,
                                  capture_output=True, text=True, timeout=300, check=False)
            if done.returncode != 0 or not AXE_SCRIPT.exists():
                return (f"`npm ci` of axe-core {AXE_VERSION} failed in {AXE}: "
                        f"{(done.stderr or done.stdout).strip()[-500:]}")
    return None


@cache
def _axe_source() -> str:
    return AXE_SCRIPT.read_text() + "\n;void 0;"


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """The serious and critical axe-core violations on the page as it is now (WCAG 2.1 A
    and AA rules and best practices), each {id, impact, help, nodes: [selector…]}."""
    reason = _axe_unavailable()
    if reason:
        pytest.skip(reason)
    # Evaluated by the driver, not added as a <script>: the pages' Content-Security-Policy
    # (web/security.py) refuses inline scripts, and rightly so.
    page.evaluate(_axe_source())
    found = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                       nodes: v.nodes.map(n => n.target.join(' '))}));
    }""")
    return [v for v in found if v["impact"] in ("serious", "critical")]


def sideways_overflow(page: Any) -> int:
    """CSS pixels the page is wider than its viewport (0: no sideways scroll), measured
    once the page and its style sheets have loaded: an assertion on the page's text can
    pass while the document is still loading, and a layout without the style sheets is
    wider (a loaded machine showed it: a long word 68 px over before app.css applied)."""
    page.wait_for_load_state("load")
    return page.evaluate(
        "() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
        " - window.innerWidth")


def shot(page: Any, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    # Written aside, then renamed: a test's two backends may run at once on two workers
    # (--dist worksteal) and save the same name; the last one wins, neither is torn.
    aside = path.with_name(f".{name}.{os.getpid()}.png")
    page.screenshot(path=str(aside), full_page=True)
    os.replace(aside, path)
    return path


def check_page(page: Any, name: str) -> None:
    """The checks every page gets: a screenshot, no serious or critical axe violation."""
    shot(page, name)
    violations = axe_violations(page)
    assert not violations, f"{name}: {json.dumps(violations, indent=1)}"
