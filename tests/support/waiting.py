"""Waiting for a condition in tests: one way, sync and async.

``until`` polls a plain function (threads, processes, files); ``eventually``
polls from a coroutine and also awaits a check that returns an awaitable. Both
return the check's first truthy result and fail with ``what`` named.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any


def until(check: Callable[[], Any], seconds: float = 5.0, what: str = "the condition", *, every: float = 0.02) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        if result := check():
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {seconds:g}s waiting for {what}")
        time.sleep(every)


async def eventually(
    check: Callable[[], Any], seconds: float = 5.0, what: str = "the condition", *, every: float = 0.02
) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {seconds:g}s waiting for {what}")
        await asyncio.sleep(every)
