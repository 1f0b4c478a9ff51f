"""Parse iCalendar bytes with Mozilla's ical.js (the parser Thunderbird uses), in node.

`icaljs_parse(data) -> list[dict]`, one dict per VEVENT (see tests/icaljs/parse.mjs):
uid, sequence, method, status, summary, description, location, dtstamp, start_utc,
end_utc (UTC ISO 8601 "...Z", or a date for all-day values), all_day, organizer,
attendees [{value, cn, partstat, rsvp, role}], has_alarm, alarm_triggers, calname,
refresh_interval, published_ttl, properties (the VEVENT's property names, lower case).

ical.js comes from the npm registry, pinned in tests/icaljs/package.json and
package-lock.json, and is installed once (`npm ci`) into tests/icaljs/node_modules
(gitignored) under a file lock, so parallel test runs do not collide. Without `node` or
`npm` the calling test is skipped with the reason (under CI=true a skip fails the run).

Use the `icaljs` fixture (`from icaljs import icaljs  # noqa: F401`) or call
`icaljs_parse` directly inside a test.
"""

from __future__ import annotations

import fcntl
import json
import re
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent / "icaljs"
SCRIPT = HERE / "parse.mjs"
VERSION = json.loads((HERE / "package.json").read_text())["dependencies"]["ical.js"]
INSTALLED = HERE / "node_modules" / "ical.js" / "package.json"
LOCK = Path(tempfile.gettempdir()) / "athlete_sched-icaljs.lock"


def _installed() -> bool:
    return INSTALLED.exists() and json.loads(INSTALLED.read_text())["version"] == VERSION


@cache
def unavailable() -> str | None:
    """None once ical.js is ready, else why it cannot be (checked once per session)."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed: ical.js interop tests need Node.js and npm"
    with LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one installer at a time, across processes
        if not _installed():
            done = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE,
                                  capture_output=True, text=True, timeout=300, check=False)
            if done.returncode != 0 or not _installed():
                return (f"`npm ci` of ical.js {VERSION} failed in {HERE}: "
                        f"{(done.stderr or done.stdout).strip()[-500:]}")
    return None


def icaljs_parse(data: bytes) -> list[dict[str, Any]]:
    """The VEVENTs of `data` as ical.js reads them; fails the test if ical.js refuses it.
    Skips the calling test when node/npm are missing."""
    reason = unavailable()
    if reason:
        pytest.skip(reason)
    done = subprocess.run(["node", str(SCRIPT)], input=data, capture_output=True,
                          timeout=60, check=False)
    if done.returncode != 0:
        pytest.fail(f"ical.js could not parse the calendar: {done.stderr.decode()[:1000]}")
    return json.loads(done.stdout)


@pytest.fixture
def icaljs():
    """`icaljs_parse`, after making sure ical.js is installed (skips without node/npm)."""
    reason = unavailable()
    if reason:
        pytest.skip(reason)
    return icaljs_parse


# --- the bytes themselves, line by line ---------------------------------------------------

NAME = re.compile(rb"^([A-Z][A-Z0-9-]*)[;:]")


def content_lines(data: bytes) -> list[bytes]:
    """The unfolded content lines of `data`, after checking the physical lines: each ends
    in CRLF (no bare CR or LF anywhere), holds at most 75 octets and is valid UTF-8 on its
    own (folding never splits a character); a continuation line starts with one space."""
    assert data.endswith(b"\r\n"), data[-20:]
    physical = data[:-2].split(b"\r\n")
    logical: list[bytes] = []
    for number, line in enumerate(physical, 1):
        assert b"\r" not in line and b"\n" not in line, (number, line)
        assert len(line) <= 75, (number, len(line), line)
        line.decode("utf-8")  # raises if a fold split a multi-byte character
        if line.startswith(b" "):
            assert logical, "the first line cannot be a continuation"
            logical[-1] += line[1:]
        else:
            logical.append(line)
    return logical


def property_names(data: bytes) -> list[str]:
    """The name of every content line of `data` (BEGIN and END included), in order, after
    `content_lines`' checks; fails on a line that does not start with a name."""
    names = []
    for line in content_lines(data):
        match = NAME.match(line)
        assert match, f"not a content line: {line[:80]!r}"
        names.append(match.group(1).decode())
    return names
