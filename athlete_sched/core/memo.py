"""A bounded memo table: values worked out from their keys alone (pure functions of
values), kept for the next call with an equal key and emptied whole when full, so that a
long-running worker holds at most `size` entries. Shared by the proposals path's tables
(core/availability.py, core/windows.py, web/schemas)."""

from __future__ import annotations

from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Memo(dict[K, V], Generic[K, V]):
    """A dict of at most `size` entries: `keep` stores a value, emptying the table first
    when it is full (cheaper than an LRU's bookkeeping on every hit; a worker asks about
    the same few windows and slots, so a refill is rare)."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def keep(self, key: K, value: V) -> V:
        if len(self) >= self.size:
            self.clear()
        self[key] = value
        return value
