"""ruff over the whole tree, with the naive-datetime rules (DTZ): a lint error fails the suite."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_finds_nothing() -> None:
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", str(ROOT)],
                            capture_output=True, text=True, cwd=ROOT, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_catches_a_naive_datetime(tmp_path: Path) -> None:
    """The rule set really includes DTZ: a naive datetime.now() is reported."""
    sample = tmp_path / "sample.py"
    sample.write_text("from datetime import datetime\n\nSTAMP = datetime.now()\n")
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache",
                             "--config", str(ROOT / "pyproject.toml"), str(sample)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 1 and "DTZ005" in result.stdout, result.stdout
