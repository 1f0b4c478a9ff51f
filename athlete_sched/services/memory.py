"""Giving the memory of a big calendar import back to the system (issue 14).

Expanding a 5 MB calendar allocates and frees some tens of MiB of small objects. Python
returns its object arenas to the C allocator, but glibc's malloc keeps freed memory in its
heaps (one per thread that allocated, in a threaded worker) instead of returning it, so a
worker stayed ~25 MiB larger after every big import than before it. `give_back` collects
the import's reference cycles and asks glibc to return its free pages (`malloc_trim(0)`,
which walks every heap); it costs a few milliseconds, so only a body of at least
BIG_BODY bytes is followed by it. Elsewhere than glibc there is no malloc_trim and only
the collection runs.
"""

from __future__ import annotations

import ctypes
import gc
from collections.abc import Callable
from functools import cache

BIG_BODY = 1024 * 1024


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(None).malloc_trim  # glibc; the process's own symbols
    except (AttributeError, OSError):
        return None


def give_back(body_size: int) -> None:
    """After a body of `body_size` bytes was expanded: collect and trim (see above)."""
    if body_size < BIG_BODY:
        return
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
