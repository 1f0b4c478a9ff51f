"""The core stays pure: no Flask, no SQLAlchemy, only stdlib, dateutil and the calendar
libraries (icalendar, recurring-ical-events, x-wr-timezone)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "athlete_sched" / "core"
ALLOWED_THIRD_PARTY = {"dateutil", "icalendar", "recurring_ical_events", "x_wr_timezone",
                       # solver libraries for the team plan: pure computation
                       "ortools", "scipy", "numpy"}

# Load athlete_sched.core without running athlete_sched/__init__.py (the app factory
# imports Flask there, legitimately): a bare parent package stands in for it, so what
# lands in sys.modules is what the core itself pulls in.
IMPORT_CORE_ALONE = """
import importlib, pkgutil, sys, types
package = types.ModuleType("athlete_sched")
package.__path__ = [{package_dir!r}]
sys.modules["athlete_sched"] = package
core = importlib.import_module("athlete_sched.core")
for info in pkgutil.iter_modules(core.__path__):
    importlib.import_module("athlete_sched.core." + info.name)
print(",".join(sorted(name for name in sys.modules
                      if name.split(".")[0] in ("flask", "sqlalchemy", "flask_sqlalchemy"))))
"""


def core_modules() -> list[Path]:
    return sorted(CORE.glob("*.py"))


def test_importing_every_core_module_pulls_in_no_flask_or_sqlalchemy() -> None:
    code = IMPORT_CORE_ALONE.format(package_dir=str(CORE.parent))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


def imported_roots(path: Path) -> list[tuple[int, str]]:
    """(line, what) for every import that leaves the allowed set, anywhere in the module."""
    bad = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 1:
                continue  # the core's own modules
            names = ["." * node.level + (node.module or "")]
        else:
            continue
        bad += [(node.lineno, name) for name in names if not allowed(name)]
    return bad


def allowed(name: str) -> bool:
    if name.startswith("athlete_sched.core.") or name == "athlete_sched.core":
        return True
    root = name.split(".")[0]
    return bool(root) and (root in sys.stdlib_module_names or root in ALLOWED_THIRD_PARTY)


@pytest.mark.parametrize("path", core_modules(), ids=lambda p: p.name)
def test_core_module_imports_only_stdlib_dateutil_icalendar(path: Path) -> None:
    assert imported_roots(path) == []


@pytest.mark.parametrize(("name", "ok"), [
    ("zoneinfo", True),
    ("dateutil.rrule", True),
    ("icalendar", True),
    ("athlete_sched.core.intervals", True),
    ("flask", False),
    ("sqlalchemy.orm", False),
    ("athlete_sched.db", False),
    ("..db", False),
], ids=lambda v: str(v))
def test_the_import_rule_itself(name: str, ok: bool) -> None:
    assert allowed(name) is ok
