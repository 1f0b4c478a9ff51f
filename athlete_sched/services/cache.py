"""Per-process caches of computed answers that can never be served stale.

An entry carries the database's data version it was computed from (db/version.py) and
the span of clock time in which it holds. It is served only while the data version is
unchanged and `now` lies in that span; anything else is a miss. Nothing is shared between
processes, so there is nothing to invalidate across workers or hosts: a worker that has not
seen a change has a different version in hand and computes afresh.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from datetime import UTC, datetime
from typing import Any, NamedTuple

from flask import current_app

ALWAYS = datetime.max.replace(tzinfo=UTC)


class _Entry(NamedTuple):
    version: Hashable
    fresh_from: datetime
    fresh_until: datetime
    value: Any


class VersionedCache:
    """A bounded LRU of values keyed by (key, data version), each fresh within a time span."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.hits = self.misses = 0
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, version: Hashable, at: datetime) -> Any | None:
        """The value stored for `key` if it was computed at `version` and holds `at`."""
        with self._lock:
            entry = self._entries.get(key)
            if (entry is None or entry.version != version
                    or not entry.fresh_from <= at <= entry.fresh_until):
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry.value

    def put(self, key: Hashable, version: Hashable, value: Any, fresh_from: datetime,
            fresh_until: datetime = ALWAYS) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._entries[key] = _Entry(version, fresh_from, fresh_until, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def earlier(self, key: Hashable, at: datetime) -> tuple[Hashable, Any] | None:
        """(version, value) stored for `key`, whatever its version, if it holds `at`."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or not entry.fresh_from <= at <= entry.fresh_until:
                return None
            return entry.version, entry.value

    def restamp(self, key: Hashable, old: Hashable, new: Hashable) -> None:
        """The value stored for `key` at version `old` holds at `new` too (the caller
        showed it): stored at `new` instead, in the same span of time."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.version == old:
                self._entries[key] = entry._replace(version=new)
                self._entries.move_to_end(key)

    def kept(self, key: Hashable) -> Any | None:
        """The value kept for `key` by `keep` (checked by the caller, not by a version)."""
        return self.get(key, None, ALWAYS)

    def keep(self, key: Hashable, value: Any) -> None:
        self.put(key, None, value, ALWAYS)

    def forget(self, key: Hashable) -> None:
        with self._lock:
            self._entries.pop(key, None)


def cache_for(name: str) -> VersionedCache:
    """The app's cache called `name`, sized by the config key `<NAME>_CACHE_SIZE` (0: off)."""
    caches = current_app.extensions.setdefault("athlete_sched.caches", {})
    if name not in caches:
        caches[name] = VersionedCache(current_app.config.get(f"{name.upper()}_CACHE_SIZE", 0))
    return caches[name]

