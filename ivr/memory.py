"""Give the free memory of the C allocator back to the system, now and then.

Principle: the call service's Python objects stay flat under load (an ended
call is freed at once), but glibc's heap does not: each call passes buffers
larger than Python's small-object allocator takes (ARI messages, the call's
recording, 100-200 kB) through ``malloc``, and the holes they leave between
longer-lived allocations stay in the process. In a soak at 17.5 calls/s the
heap's free part grew ~0.4 MiB a minute with everything live flat, and one
``malloc_trim(0)`` after 33 minutes took the RSS from 145.9 to 125.8 MiB
(docs/PERFORMANCE.md, round 4). ``malloc_trim`` hands free pages back, also
those in the middle of the heap; it takes a few milliseconds, so once a minute
costs nothing a caller could notice. Other C libraries (musl): nothing to do.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import time

from ivr.pause import stopped_within

log = logging.getLogger("siaga.memory")

TRIM_EVERY = 60.0  # seconds


def _glibc_trim():
    try:  # the C library already loaded in this process (no library search, no subprocess at import)
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


_trim = _glibc_trim()


def release_free_memory() -> bool | None:
    """Return the allocator's free pages to the system; None where the C library cannot."""
    if _trim is None:
        return None
    return bool(_trim(0))


async def keep_releasing(stop: asyncio.Event, every: float = TRIM_EVERY) -> None:
    """Until ``stop``: ``release_free_memory`` every ``every`` seconds (logged at debug level with its cost)."""
    if _trim is None:
        log.info("the C library has no malloc_trim: free memory is left to it")
        return
    while not await stopped_within(stop, every):
        started = time.perf_counter()
        released = release_free_memory()
        log.debug(
            "malloc_trim: %s in %.1f ms",
            "released memory" if released else "nothing to release",
            (time.perf_counter() - started) * 1000,
        )
