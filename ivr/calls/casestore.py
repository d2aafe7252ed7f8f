"""Async access to the case log for call flows.

The database layer is synchronous (SQLModel). Calls run on one asyncio loop,
so every write goes through ONE worker thread: writes of a call land in the
order they were made, and a slow database never blocks the event loop.
"""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, Callable

from sqlmodel import Session

from app.cases import service


class CaseStore:
    def __init__(self, session_factory: Callable[[], Session]) -> None:
        self._sessions = session_factory
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="case-writer")

    async def _run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        def call() -> Any:
            with self._sessions() as session:
                return fn(session, *args, **kwargs)

        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    async def open(self, *, line: str, caller_number: str, channel_id: str, received_at: datetime) -> str:
        def op(session: Session) -> str:
            case = service.open_case(
                session, line=line, caller_number=caller_number, channel_id=channel_id, received_at=received_at
            )
            return case.ticket

        return await self._run(op)

    async def update(self, ticket: str, **fields: Any) -> None:
        await self._run(lambda s: service.update_case(s, ticket, **fields) and None)

    async def event(self, ticket: str, kind: str, detail: dict | None = None, at: datetime | None = None) -> None:
        await self._run(lambda s: service.add_event(s, ticket, kind, detail, at))

    async def start_attempt(self, ticket: str, *, unit: str, agency: str, dial: str, started_at: datetime) -> int:
        return await self._run(
            lambda s: service.start_attempt(s, ticket, unit=unit, agency=agency, dial=dial, started_at=started_at)
        )

    async def update_attempt(self, attempt_id: int, **fields: Any) -> None:
        await self._run(lambda s: service.update_attempt(s, attempt_id, **fields))

    async def find_by_channel(self, channel_id: str) -> str | None:
        def op(session: Session) -> str | None:
            case = service.find_case_by_channel(session, channel_id)
            return case.ticket if case else None

        return await self._run(op)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
