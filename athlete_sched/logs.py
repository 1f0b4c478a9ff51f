"""The process's logs: one handler on the root logger, writing to stderr, one record a line.

- **json** (the default): one JSON object a line, with `time` (UTC, ISO 8601, ms),
  `level`, `logger`, `message`, `request_id` (the request the record was written in, if
  any; web/access_log.py sets it), an `exception` with the traceback, and any `extra`
  fields of the record (the access log's method, path, status, ...). For gunicorn and any
  production server, where logs go to a collector.
- **text**: the same fields as one readable line, for a person at a terminal (`flask
  run` for the demo, a command typed by hand).

LOG_FORMAT chooses (json or text); unset, it is json under gunicorn and wherever stderr is
not a terminal, and text on a terminal (the demo run). LOG_LEVEL sets the root level
(INFO: the access log and above). `configure` runs once per app (create_app) and replaces
only the handler it installed itself, so running it again (tests, several apps) never
doubles lines.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

FORMATS = ("json", "text")
request_id: ContextVar[str | None] = ContextVar("athlete_sched.request_id", default=None)

# The attributes every LogRecord has: anything else on a record came from `extra`.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message", "asctime", "taskName"}


def _time(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _extra(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items()
            if k not in _STANDARD and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    """A record as one line of JSON (see the module docstring)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {"time": _time(record), "level": record.levelname,
                                "logger": record.name, "message": record.getMessage()}
        rid = getattr(record, "request_id", None) or request_id.get()
        if rid:
            line["request_id"] = rid
        line.update({k: v for k, v in _extra(record).items() if k not in line})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """A record as a readable line: time, level, logger, [request id], message, and the
    extra fields as key=value unless the message already says them (a record with
    `_in_message`, as the access log's); a traceback follows on its own lines."""

    def format(self, record: logging.LogRecord) -> str:
        rid = getattr(record, "request_id", None) or request_id.get()
        extra = "" if getattr(record, "_in_message", False) else " ".join(
            f"{k}={v}" for k, v in _extra(record).items() if k != "request_id")
        line = " ".join(part for part in (_time(record), record.levelname, record.name,
                                          f"[{rid}]" if rid else "", record.getMessage(),
                                          extra) if part)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is when a record comes (a test's capture, too)."""

    def __init__(self) -> None:
        super().__init__()

    @property  # type: ignore[override]
    def stream(self):  # type: ignore[no-untyped-def]
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


class DevServerAccess(logging.Filter):
    """Drops the Flask development server's own access lines ('127.0.0.1 - - [...]'), as
    the app writes its own; its other messages (the address it serves on) stay."""

    def filter(self, record: logging.LogRecord) -> bool:
        return " - - [" not in str(record.msg)


def chosen_format(value: str | None) -> str:
    """LOG_FORMAT, or the default: text on a terminal outside gunicorn, else json."""
    if value:
        if value.lower() not in FORMATS:
            raise ValueError(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, not {value!r}")
        return value.lower()
    if "gunicorn" not in sys.modules and sys.stderr.isatty():
        return "text"
    return "json"


def configure(config: dict[str, Any]) -> None:
    """Install the process's handler (LOG_FORMAT, LOG_LEVEL), replacing the one an earlier
    call installed."""
    handler = StderrHandler()
    handler._athlete_sched = True  # type: ignore[attr-defined]
    text = chosen_format(config.get("LOG_FORMAT")) == "text"
    handler.setFormatter(TextFormatter() if text else JsonFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_athlete_sched", False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(str(config.get("LOG_LEVEL") or "INFO").upper())
    werkzeug = logging.getLogger("werkzeug")
    if not any(isinstance(f, DevServerAccess) for f in werkzeug.filters):
        werkzeug.addFilter(DevServerAccess())
