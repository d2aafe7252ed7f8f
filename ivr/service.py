"""The call service's composition root.

Builds every part from the settings (database, case store, directory, menus,
ARI client, event stream, router, health endpoint) and hands each part what it
needs; no module creates its own clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import cast

import uvicorn
from fastapi import APIRouter
from sqlalchemy.exc import OperationalError

from app.asterisk.journal_files import position_file
from app.asterisk.locate import AsteriskError
from app.asterisk.runtime import HostFiles, host_files
from app.cases.callers import safe_caller_number
from app.db import make_engine, migrate, session_factory
from app.directory.loader import load_directory
from app.files import internal_secret
from app.live.publisher import LivePublisher
from app.prompts.render import prompt_exists
from app.settings import Settings
from ivr import memory
from ivr.agents.board import Agent, AgentBoard
from ivr.agents.commands import internal_router
from ivr.agents.phones import watch_phones
from ivr.agents.queue import AgentQueue
from ivr.agents.work import AGENT_CHANNEL, AgentWork
from ivr.ari.client import AriClient
from ivr.ari.errors import AriError
from ivr.ari.rest_ws import RestOverStream
from ivr.ari.stream import EventStream
from ivr.ari_adapter.control import AriCallControl
from ivr.ari_adapter.recordings import Keep, spool, take_call_recording
from ivr.ari_adapter.resync import Resync
from ivr.ari_adapter.router import CallRouter
from ivr.ari_adapter.translate import EVENT_TYPES
from ivr.calls.casestore import CaseStore, journal_folder
from ivr.calls.events import ServiceStopping
from ivr.calls.flow import CallFlow
from ivr.calls.handover import Waiting
from ivr.calls.leftovers import Leftovers
from ivr.calls.states import WAITING_FOR_A_HUMAN
from ivr.disk import DiskWatch
from ivr.engine.menus import load_menus, validate
from ivr.fallback_journal import FallbackJournal
from ivr.health import health_app, reported
from ivr.pause import stopped_within
from ivr.surge import SurgeGuard
from ivr.surge import levels as surge_levels

log = logging.getLogger("siaga.service")


def health_server(app, host: str, port: int) -> uvicorn.Server:
    """The /healthz server, leaving SIGINT and SIGTERM to the caller: uvicorn's ``serve()`` would take them
    and stop first, so /healthz went away before the callers were handed over (and the watchdog moved in)."""
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off"))
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    return server


class CallService:
    def __init__(self, settings: Settings) -> None:
        settings.check_secrets()
        self.settings = settings
        self.directory = load_directory(settings.directory)
        self.menus = load_menus(settings=settings.ivr)
        # Menus must only use categories the directory routes, and prompts that exist in both languages.
        validate(self.menus, prompt_exists, categories={k: list(v.categories) for k, v in self.directory.lines.items()})
        try:
            migrate(settings.database.url)
        except OperationalError as exc:
            # Calls must not wait for the database: cases go to the local journal and are
            # applied when it is back (the schema is already there from an earlier start).
            log.error(
                "database not reachable at start (%s); cases are journalled until it returns", str(exc).splitlines()[0]
            )
        self.db = make_engine(settings.database.url)
        # Calls wait only for the local journal; the database is written behind it (and catches up).
        self.store = CaseStore(session_factory(self.db), journal_folder(settings.journal_dir, settings.database.url))
        ari = settings.ari
        rest = RestOverStream() if ari.rest_over_websocket else None
        self.client = AriClient.from_settings(ari, rest=rest)
        self.stream = EventStream.from_settings(ari, rest=rest)
        self.recordings_dir = settings.recordings_dir
        # Live views only: calls never wait for Redis. Its copy of a call's data expires (retention).
        self.live = LivePublisher(settings.redis.url, ttl_seconds=int(settings.retention.live_call_hours * 3600))
        self.router = CallRouter(self._new_flow, on_orphan=self._orphan)
        self.waiting = Waiting()  # callers whose hand-over to the fallback route has not worked yet
        self._tasks: set[asyncio.Task] = set()
        self._catching_up = asyncio.Lock()
        self.resync = Resync(
            self.client, self.router, app=ari.app, adopt=self._adopt, adopt_connected=self._adopt_connected
        )
        here = self._asterisk_files()
        self.spool = spool(self.client, here.recordings if here else None)
        self.journal = (
            FallbackJournal(
                here.fallback_journal,
                position_file(settings.journal_dir),
                self.store,
                take_recording=self._untracked_recording,
                recordings_dir=self.recordings_dir,
            )
            if here
            else None
        )
        self.leftovers = Leftovers(
            self.store, take_recording=self._untracked_recording, recordings_dir=self.recordings_dir
        )
        self.surge = SurgeGuard(self.client, levels=surge_levels(settings.ivr))
        self.agent_work = self._agents()
        self.disk = DiskWatch.from_settings(settings, here)

    def _asterisk_files(self) -> HostFiles | None:
        try:
            return host_files(self.settings)
        except AsteriskError as exc:  # Asterisk on another machine: its files are not readable here
            log.warning(
                "Asterisk's files are not on this host (%s): calls the dialplan handles alone get no "
                "case, and recordings come over ARI",
                exc,
            )
            return None

    async def _untracked_recording(self, channel_id: str, keep: Keep) -> bytes | None:
        """A fallback call's recording, unless a call flow of ours still follows that caller (it files it)."""
        if channel_id in self.router.by_channel:
            return None
        # As long as the flow waits: under load MixMonitor closes the file seconds after the end line.
        return await take_call_recording(self.spool, channel_id, keep=keep)

    def _connected(self) -> None:
        """At every (re)connect, before its first event is read: note the calls known until now.

        The catching up (resync, fallback journal, leftovers) then runs beside the event reader,
        so callers arriving meanwhile are not held up by it.
        """
        known = self.resync.connected()
        self._spawn(self._catch_up(known), "catch-up")

    async def _catch_up(self, known: dict) -> None:
        """Match Asterisk's calls, then write the cases the dialplan handled alone (one connect at a time)."""
        async with self._catching_up:
            await self._filter_events()
            await self.surge.connected()
            await self.resync.run(known)
            if self.journal:
                await self.journal.import_new()
            if self.resync.alive is not None and self.leftovers.tickets:
                await self.leftovers.close_gone(self.resync.alive | set(self.router.by_channel))

    def _spawn(self, coro, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s failed", task.get_name(), exc_info=task.exception())

    async def _follow_leftovers(self, stop: asyncio.Event, every: float = 30.0) -> None:
        """Calls of the previous run still going on at the last connect (not ours): look again until all ended."""
        while self.leftovers.tickets and not await stopped_within(stop, every):
            try:
                channels = await self.client.list_channels()
            except Exception as exc:  # not connected now: the next connect looks
                log.info("leftover calls not checked: %s", exc)
                continue
            if self.journal:
                await self.journal.import_new()  # first: a call that went to the fallback route is told of there
            await self.leftovers.close_gone({c["id"] for c in channels} | set(self.router.by_channel))

    async def _filter_events(self) -> None:
        """Ask Asterisk for the events calls use only: fewer to serialise there and to parse here."""
        try:
            await self.client.event_filter(self.settings.ari.app, sorted(EVENT_TYPES))
        except AriError as exc:  # all events still work, just at a higher cost
            log.warning("ARI event filter not set (%s); receiving every event", exc)

    def _agents(self) -> AgentWork | None:
        """The call-takers of the directory, their board and queue; None when the directory lists none."""
        if not self.directory.agents:
            return None

        def changed(agent: Agent) -> None:
            self.live.tell(AGENT_CHANNEL, {"type": "agent.status", **agent.view()})
            queue.soon()  # an agent free again may take a waiting caller

        board = AgentBoard(
            ((a.name, a.languages) for a in self.directory.agents),
            wrapup_seconds=self.settings.queue.wrapup_seconds,
            on_change=changed,
        )
        queue = AgentQueue(board)
        return AgentWork(queue, self.settings.queue, lambda message: self.live.tell(AGENT_CHANNEL, message))

    def _call_of(self, ticket: str):
        """The post function of the call with this ticket (for the internal channel), or None."""
        for worker in self.router.workers.values():
            if getattr(worker.flow, "ticket", None) == ticket and not worker.flow.finished:
                return worker.post
        return None

    def _new_flow(self, key: str, start: dict, post) -> CallFlow:
        channel = start["channel"]
        args = start.get("args") or [""]
        port = AriCallControl(
            self.client,
            app=self.settings.ari.app,
            key=key,
            caller_channel=channel["id"],
            demo=self.settings.demo,
            recordings=self.spool,
        )
        return CallFlow(
            line=str(args[0]),
            caller_number=safe_caller_number((channel.get("caller") or {}).get("number")),  # a stranger's text
            channel_id=channel["id"],
            port=port,
            store=self.store,
            menus=self.menus,
            directory=self.directory,
            recordings_dir=self.recordings_dir,
            post=post,
            notify=self.live.publish,
            waiting=self.waiting,
            agent_work=self.agent_work,
        )

    async def _orphan(self, event: dict) -> None:
        """A leg of ours entered the app after its call was gone: release the agency line."""
        channel = event["channel"]["id"]
        log.info("releasing orphan channel %s", channel)
        try:
            await self.client.hangup(channel)
        except Exception:  # already gone
            pass

    async def _adopt(self, channel: dict) -> None:
        """A caller found in the app after a restart: give it a flow that takes the safe path."""
        from ivr.calls.events import ServiceResumed

        worker = self.router.start_call(_stasis_start(channel), resumed=True)
        worker.post(ServiceResumed())

    async def _adopt_connected(self, channel: dict, key: str, leg: str) -> None:
        """A caller found talking to an agency after a restart: follow it to its end (never cut it)."""
        self.router.start_call(_stasis_start(channel), resumed=True, key=key, connected_leg=leg)

    def status(self) -> dict:
        """What /healthz says, one part per line; a part that fails is named in it (``health.reported``)."""
        return {
            **reported("calls", self._calls_status),
            # A surge: new callers go straight to the fallback route (not degraded: every caller reaches a human).
            **reported("surge", self.surge.status),
            # Redis only feeds the live views: its outage is reported, it does not make the service degraded.
            **reported("redis", self._live_status),
            # Likewise the database: cases are journalled on local disk and applied when it is back.
            **reported("database", self.store.status),
            **reported("disk", self.disk.status),  # free space where calls leave files: seen before a disk fills up
            **(reported("fallback_journal", self.journal.status) if self.journal else {}),
        }

    def _calls_status(self) -> dict:
        # A caller the service has failed to hand over for this long is better off with the watchdog,
        # which takes over every caller of a service that is not healthy (over its own ARI connection).
        stuck = self.waiting.oldest_seconds() >= self.settings.ivr.handover_unhealthy_seconds
        return {
            "status": "ok" if self.stream.connected.is_set() and not stuck else "degraded",
            "ari": self.stream.state,
            "ari_requests": "websocket" if self.client.rest is not None and self.client.rest.ready else "http",
            "calls": len(self.router.workers),
            "profile": self.settings.profile,
            **self.waiting.status(),
        }

    def _live_status(self) -> dict:
        live = self.live.status()
        return {"redis": live["redis"], "live_events_dropped": live["dropped"]}

    async def _hand_over_calls(self, timeout: float = 5.0) -> None:
        """Before going away: callers in the IVR, ringing or being handed over go to the fallback route; talks go on."""
        workers = list(self.router.workers.values())
        log.info(
            "call service stopping: %d calls in progress; callers not yet connected go to the fallback route",
            len(workers),
        )
        for worker in workers:
            worker.post(ServiceStopping())
        deadline = asyncio.get_running_loop().time() + timeout
        flows = [cast(CallFlow, w.flow) for w in workers]  # our router builds CallFlows only (_new_flow)
        # Polls the flows' states, which have no event of their own.
        while asyncio.get_running_loop().time() < deadline and any(  # noqa: ASYNC110
            f.states.state in WAITING_FOR_A_HUMAN for f in flows
        ):
            await asyncio.sleep(0.05)

    async def run(self, stop: asyncio.Event) -> None:
        web = self.settings.web
        routers: tuple[APIRouter, ...] = ()
        if self.agent_work is not None:
            routers = (internal_router(internal_secret(self.settings), self.agent_work.board, self._call_of),)
        server = health_server(health_app(self.status, routers), web.host, web.port)
        tasks = [
            asyncio.create_task(server.serve(), name="health"),
            asyncio.create_task(self.live.run(), name="live-events"),
            asyncio.create_task(self.stream.run(self.router.route, on_connected=self._connected), name="ari-events"),
        ]
        if self.journal:
            tasks.append(asyncio.create_task(self.journal.follow(stop), name="fallback-journal"))
        if self.leftovers.tickets:
            tasks.append(asyncio.create_task(self._follow_leftovers(stop), name="leftover-calls"))
        tasks.append(asyncio.create_task(memory.keep_releasing(stop), name="release-free-memory"))
        tasks.append(asyncio.create_task(self.surge.run(stop), name="surge-guard"))
        tasks.append(asyncio.create_task(self.disk.run(stop), name="disk-space"))
        if self.agent_work is not None:
            board = self.agent_work.board
            tasks.append(asyncio.create_task(watch_phones(self.client, board, stop), name="agent-phones"))
        log.info(
            "call service up: ARI %s app %s, health http://%s:%s/healthz",
            self.settings.ari.base_url,
            self.settings.ari.app,
            web.host,
            web.port,
        )
        await stop.wait()
        await self._hand_over_calls()
        for task in self._tasks:
            task.cancel()
        self.stream.stop()
        self.live.stop()
        server.should_exit = True
        await asyncio.wait(tasks, timeout=5)
        await self.client.aclose()
        self.store.close()


def _stasis_start(channel: dict) -> dict:
    """The StasisStart a caller found by a resync would have sent (its line is the extension it dialled)."""
    return {"type": "StasisStart", "channel": channel, "args": [channel.get("dialplan", {}).get("exten", "")]}
