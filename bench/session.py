"""One bench session: a fresh system, the caller's key presses, the report files.

Everything the session starts is stopped when the ``with`` block ends, also on
Ctrl-C or an error (SIGTERM is turned into the same path).
"""

from __future__ import annotations

import json
import signal
import time
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

from app import paths
from bench.database import BenchDatabase
from bench.dbwatch import CaseWatcher
from bench.dtmf import digit_packets, write_pcap
from bench.latency import latencies
from bench.machine import load_snapshot, machine_info
from bench.observer import Observer
from bench.probe import CpuMeter
from bench.profile import Profile, summarise
from bench.report import Table2, fmt, percentile, say
from bench.steps import Runner, Step
from bench.system import BenchSystem

DIGITS = "912"  # English, medical, Kuta: psc-kuta answers


class Report:
    """The run's Markdown (tables as printed) and JSON (raw figures), rewritten after each part."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.sections: list[str] = []  # Markdown, one part each
        self.data: dict[str, Any] = {}  # raw figures by part

    def add(self, key: str, value, markdown: str = "") -> None:
        self.data[key] = value
        if markdown:
            self.sections.append(markdown)
        (self.folder / "results.md").write_text("\n".join(self.sections))
        (self.folder / "results.json").write_text(json.dumps(self.data, indent=1, default=_plain))


def _plain(value):
    return asdict(value) if is_dataclass(value) and not isinstance(value, type) else str(value)


@contextmanager
def session(
    *,
    db: str,
    hold_s: float,
    ring_s: float,
    max_invite_ms: float,
    out: Path | None,
    service_env: dict[str, str] | None = None,
):
    folder = (out or paths.VAR / "bench" / time.strftime("%Y%m%d-%H%M%S")).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored (a background job)
    say(f"bench folder {folder}")
    system = BenchSystem(folder, BenchDatabase(db, folder), ring_seconds=ring_s, service_env=service_env)
    if service_env:
        say(f"  service settings: {service_env}")
    report = Report(folder)
    with system:
        info = machine_info(system.asterisk.launcher.version())
        load = load_snapshot()
        say("\n".join(f"  {k}: {v}" for k, v in info.items()))
        say(f"  load: {load['uptime']}\n{load['top']}")
        report.add(
            "machine",
            {**info, "database": db, "load_at_start": load},
            "**Machine**\n\n"
            + "\n".join(f"- {k}: {v}" for k, v in info.items())
            + f"\n- database: {db}\n- load at start: `{load['uptime']}`\n",
        )
        idle = idle_cpu(system)
        say(f"  idle CPU % of one core (no calls, 10 s): {idle}")
        report.add(
            "idle_cpu",
            idle,
            "**Idle CPU, % of one core (no calls, 10 s)**: " + ", ".join(f"{k} {v}" for k, v in idle.items()) + "\n",
        )
        pcap = write_pcap(folder / "digits-912.pcap", digit_packets(DIGITS))
        runner = Runner(system, folder, pcap, hold_s=hold_s, max_invite_ms=max_invite_ms)
        yield runner, report
        report.add("load_at_end", load_snapshot())


def idle_cpu(system: BenchSystem, seconds: float = 10) -> dict[str, float]:
    """What the system burns with no call at all (health polls, heartbeats, timers)."""
    time.sleep(5)  # the watchdog has only just started: its imports are not idle work
    meter = CpuMeter({name: system.pid(name) for name in ("service", "asterisk", "watchdog", "redis")})
    time.sleep(seconds)
    return {k: round(v, 1) for k, v in meter.read().items() if k != "sipp"}


def _interrupt(*_):
    raise KeyboardInterrupt


def step_table(title: str, steps: list[Step]) -> Table2:
    table = Table2(
        title,
        [
            "path",
            "rate/s",
            "calls",
            "failed",
            "reached agency",
            "cases ok",
            "INVITE->200 ms p50/p99/max",
            "CPU % service/asterisk/watchdog/sipp/machine",
            "CPU ms per call service/asterisk",
            "verdict",
        ],
    )
    for s in steps:
        cases = "-" if s.cases is None else f"{s.cases.completed}/{s.placed}"
        invite = "/".join(fmt(v) for v in (s.p(50), s.p(99), max(s.invite_ms) if s.invite_ms else None))
        cpu = "/".join(fmt(s.cpu.get(k)) for k in ("service", "asterisk", "watchdog", "sipp", "machine"))
        per_call = "/".join(fmt(s.cpu_ms_per_call(k)) for k in ("service", "asterisk"))
        reached = s.reached if s.humans == s.reached else f"{s.reached} ({s.humans} a human)"
        table.add(
            s.path,
            f"{s.rate:g}",
            s.placed,
            s.sipp_failed,
            reached,
            cases,
            invite,
            cpu,
            per_call,
            "pass" if s.passed else "FAIL",
        )
        if not s.passed:
            table.notes.append(f"{s.path} at {s.rate:g}/s: " + "; ".join(s.problems))
    return table


def measure_latency(
    runner: Runner, path: str, rate: float, seconds: float, profile: Path | None = None
) -> tuple[Step, dict[str, list[float]]]:
    """One step with the passive observer connected; latencies from Asterisk's timestamps.

    With ``profile`` (our path only) py-spy samples the call service meanwhile.
    """
    system = runner.system
    with ExitStack() as stack:
        observer = stack.enter_context(Observer(system.ari_port, system.ari_password))
        rows = stack.enter_context(CaseWatcher(system.db.url))
        if profile is not None and path == "siaga":
            pid = system.pid("service")
            assert pid is not None, "the call service is not running"
            stack.enter_context(Profile(pid, profile))
        step = runner.step(path, rate, max(1, round(rate * seconds)), mode=3 if path == "siaga" else 4)
        time.sleep(1)  # the last events are still on the websocket
    if path != "siaga":
        return step, latencies(observer.events)
    return step, latencies(observer.events, system.service_log, rows.seen)


def latency_table(title: str, results: dict[str, dict[str, list[float]]]) -> Table2:
    table = Table2(title, ["path", "measure", "n", "p50 ms", "p99 ms", "max ms"])
    for path, measures in results.items():
        for name, values in measures.items():
            if values:
                table.add(
                    path,
                    name.replace("_", " "),
                    len(values),
                    fmt(percentile(values, 50), 1),
                    fmt(percentile(values, 99), 1),
                    fmt(max(values), 1),
                )
    return table


def profile_tables(raw: Path, top: int = 15) -> list[Table2]:
    summary = summarise(raw, top)
    tables = []
    for key, title in (
        ("threads", "threads"),
        ("self", "functions, self time"),
        ("inclusive", "functions with callees"),
    ):
        table = Table2(
            f"py-spy profile of the call service ({summary['samples'][0][1]} samples): {title}",
            ["where", "% of samples"],
        )
        for name, share in summary[key]:
            table.add(name, f"{share:.1f}")
        tables.append(table)
    return tables
