"""Whether each call-taker's phones are registered: Asterisk's endpoint list, read every ``every`` seconds.

One request (``GET /endpoints/PJSIP``) covers every agent. A phone that goes offline takes an
available agent offline (``AgentBoard.phone``); an ARI error changes nothing (the last known
state holds until Asterisk answers again), and wrap-ups that have run their time end here too.
"""

from __future__ import annotations

import asyncio
import logging

from app.clock import utcnow
from ivr.agents.board import AgentBoard
from ivr.ari.client import AriClient

log = logging.getLogger("siaga.agents")


def phone_of(resource: str, board: AgentBoard) -> tuple[str, str] | None:
    """``agent-1`` -> (agent-1, sip); ``agent-1-web`` -> (agent-1, web); anything else None."""
    if resource in board.agents:
        return resource, "sip"
    if resource.endswith("-web") and resource[: -len("-web")] in board.agents:
        return resource[: -len("-web")], "web"
    return None


def apply_endpoints(board: AgentBoard, endpoints: list[dict]) -> None:
    now = utcnow()
    seen: set[tuple[str, str]] = set()
    for endpoint in endpoints:
        phone = phone_of(str(endpoint.get("resource", "")), board)
        if phone is not None:
            seen.add(phone)
            board.phone(*phone, endpoint.get("state") == "online", now)
    for name in board.agents:
        for kind in ("sip", "web"):
            if (name, kind) not in seen:
                board.phone(name, kind, False, now)


async def watch_phones(client: AriClient, board: AgentBoard, stop: asyncio.Event, every: float = 1.0) -> None:
    while not stop.is_set():
        try:
            apply_endpoints(board, await client.list_endpoints("PJSIP"))
        except Exception as exc:  # Asterisk away: the last known state holds
            log.debug("agent phones not read: %s", exc)
        board.tick(utcnow())
        try:
            await asyncio.wait_for(stop.wait(), every)
        except TimeoutError:
            pass
