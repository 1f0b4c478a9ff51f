"""`flask db ...` (Flask-Migrate) is set up when the command line asks for it, so that a
web worker starts without Alembic (bench/coldstart.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLASK = [sys.executable, "-m", "flask", "--app", "wsgi"]


def _run(args: list[str], instance: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ATHLETE_SCHED_INSTANCE": str(instance), **extra}
    env.pop("DATABASE_URL", None)
    if not extra:
        env.pop("SECRET_KEY", None)  # the flask command line needs no key (not production)
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def test_the_app_starts_without_migration_fetch_or_calendar_libraries(tmp_path):
    probe = ("import sys, wsgi; print(','.join(sorted(m for m in ('alembic', 'flask_migrate',"
             " 'mako', 'requests', 'urllib3', 'icalendar', 'recurring_ical_events',"
             " 'athlete_sched.core.ical_import') if m in sys.modules)))")
    # `import wsgi` outside the flask command is a production start: it needs a real key
    result = _run([sys.executable, "-c", probe], tmp_path, SECRET_KEY="cli-test-" + "k" * 40)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_db_upgrade_from_the_command_line_builds_the_schema(tmp_path):
    upgrade = _run([*FLASK, "db", "upgrade"], tmp_path)
    assert upgrade.returncode == 0, upgrade.stderr
    current = _run([*FLASK, "db", "current"], tmp_path)
    assert current.returncode == 0, current.stderr
    assert "(head)" in current.stdout
    demo = _run([*FLASK, "demo"], tmp_path)  # the schema is the app's
    assert demo.returncode == 0, demo.stderr


def test_db_group_keeps_its_options_and_subcommands(runner):
    result = runner.invoke(args=["db", "--help"])
    assert result.exit_code == 0, result.output
    assert "--directory" in result.output
    assert "upgrade" in result.output and "downgrade" in result.output


def test_db_group_sets_up_migrations_for_its_app(app, runner):
    from athlete_sched.extensions import MIGRATIONS

    assert "migrate" not in app.extensions  # create_app leaves it to the command line
    result = runner.invoke(args=["db", "current"])
    assert result.exit_code == 0, result.output
    assert app.extensions["migrate"].directory == str(MIGRATIONS)
