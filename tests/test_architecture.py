"""The walls of the road a request takes (README, "Architecture"), held by tools:

- `lint-imports` keeps the contracts of pyproject.toml: web (and beside it jobs, the job
  queue's entry point) -> services -> db -> core, never upwards; a pure core; web and jobs
  without db, extensions or SQLAlchemy; services without
  SQLAlchemy but for the unit of work. A copy of the package with a forbidden import, and
  the contracts without a line, show that the check bites;
- no SQL and no SQLAlchemy session outside db/ and the unit of work, and the session is
  never a local called `session` (a session is a treatment here);
- no import circles between modules (function-level imports included) and no module
  importing another's private names.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "athlete_sched"
UNIT_OF_WORK = PACKAGE / "services" / "unit_of_work.py"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def lint_imports(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", *args], cwd=cwd,
                          env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, check=False, timeout=120)


def test_lint_imports_keeps_every_contract() -> None:
    done = lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Contracts: 5 kept, 0 broken." in done.stdout, done.stdout


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """The package and its contracts, copied to change them."""
    shutil.copytree(PACKAGE, tmp_path / "athlete_sched",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


@pytest.mark.parametrize(("module", "line", "broken"), [
    ("web/api.py", "from ..db import models", "Views talk to services only"),
    ("web/pages/home.py", "from ...extensions import db", "Views talk to services only"),
    ("core/windows.py", "import flask", "The core is pure"),
    ("db/guard.py", "from ..services import bookings", "One road"),
    ("services/bookings.py", "import sqlalchemy", "SQL lives in db"),
    ("jobs/queue.py", "from ..db import models", "Jobs talk to services only"),
    ("services/mail.py", "from .. import jobs", "One road"),
    ("web/health.py", "from .. import jobs", "One road"),
])
def test_a_forbidden_import_breaks_a_contract(copy: Path, module: str, line: str,
                                             broken: str) -> None:
    path = copy / "athlete_sched" / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}  # noqa\n", encoding="utf-8")
    done = lint_imports(copy)
    assert done.returncode == 1, done.stdout
    assert f"{broken}" in done.stdout and "BROKEN" in done.stdout, done.stdout


def test_a_contract_without_its_line_lets_the_import_through(copy: Path) -> None:
    """Without "athlete_sched.db" in the web contract, a view importing a model passes:
    the line is what holds that wall."""
    config = copy / "pyproject.toml"
    text = config.read_text(encoding="utf-8")
    web = text.index('source_modules = ["athlete_sched.web"]')
    config.write_text(text[:web] + text[web:].replace('    "athlete_sched.db",\n', "", 1),
                      encoding="utf-8")
    api = copy / "athlete_sched" / "web" / "api.py"
    api.write_text(api.read_text(encoding="utf-8") + "\nfrom ..db import models  # noqa\n",
                   encoding="utf-8")
    done = lint_imports(copy)
    assert done.returncode == 0, done.stdout


# --- no SQL outside db/ and the unit of work ------------------------------------------------------

def sql_outside_db(path: Path) -> list[str]:
    """Calls of select(), .query(), and uses of db.session in a module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id == "select":
                found.append(f"{node.lineno}: select(")
            if isinstance(func, ast.Attribute) and func.attr in ("query", "select"):
                found.append(f"{node.lineno}: .{func.attr}(")
        if (isinstance(node, ast.Attribute) and node.attr == "session"
                and isinstance(node.value, ast.Name) and node.value.id == "db"):
            found.append(f"{node.lineno}: db.session")
    return found


@pytest.mark.parametrize("path", [p for p in modules()
                                  if "db" not in p.relative_to(PACKAGE).parts[:1]
                                  and p != UNIT_OF_WORK],
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_sql_outside_db_and_the_unit_of_work(path: Path) -> None:
    assert sql_outside_db(path) == []


def test_the_sql_check_finds_what_it_looks_for(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("rows = db.session.scalars(select(Booking))\nq = Booking.query()\n")
    assert sorted(sql_outside_db(sample)) == ["1: db.session", "1: select(", "2: .query("]


def session_locals(path: Path) -> list[int]:
    """Lines where a local or parameter called `session` holds a SQLAlchemy session: bound
    to db.session, or annotated with sqlalchemy.orm's Session."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    orm_session = any(isinstance(n, ast.ImportFrom) and n.module == "sqlalchemy.orm"
                      and any(a.name == "Session" for a in n.names) for n in ast.walk(tree))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.arg) and node.arg == "session" and orm_session and \
                isinstance(node.annotation, ast.Name) and node.annotation.id == "Session":
            found.append(node.lineno)
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "session" for t in node.targets) and \
                "db.session" in ast.unparse(node.value):
            found.append(node.lineno)
    return found


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_sqlalchemy_session_is_never_a_local_called_session(path: Path) -> None:
    assert session_locals(path) == []


# --- no circles, no private cross-imports ---------------------------------------------------------

def import_graph() -> nx.DiGraph:
    graph = grimp.build_graph("athlete_sched")
    found = nx.DiGraph()
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            # A package and its own modules (a package's __init__ importing its parts)
            # is structure, not a circle between two modules.
            if not (module.startswith(imported + ".") or imported.startswith(module + ".")):
                found.add_edge(module, imported)
    return found


def test_no_import_circles() -> None:
    circles = [sorted(c) for c in nx.strongly_connected_components(import_graph())
               if len(c) > 1]
    assert circles == []


def test_the_circle_check_finds_a_circle() -> None:
    graph = nx.DiGraph([("a.x", "a.y"), ("a.y", "a.x"), ("a.y", "a.z")])
    assert [sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1] == [
        ["a.x", "a.y"]]


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_another_modules_private_names(path: Path) -> None:
    private = [f"{node.lineno}: {alias.name}"
               for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
               if isinstance(node, ast.ImportFrom) and (node.level or (
                   node.module or "").startswith("athlete_sched"))
               for alias in node.names if alias.name.startswith("_")]
    assert private == []
