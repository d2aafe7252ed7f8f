"""One load step (N calls at R calls/s on one path) and the ramp that finds the sustained rate.

Principle: a step passes only if every call placed reached the agency line,
SIPp saw no failed call, INVITE -> 200 stayed within the limit at the 99th
percentile, and (for our service) every call left a case that ended
"completed" with the choices the caller pressed. The ramp steps the rate up
for both paths, alternating, and stops each path at its first failed step;
the sustained rate is the last step that passed.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.database import CaseCounts
from bench.probe import CpuMeter, active_channels, agency_answers
from bench.report import fmt, percentile, say
from bench.sipp import Sipp
from bench.system import BenchSystem

# path -> number the callers dial; "baseline-rec" is the baseline recording each call as ours does
PATHS = {"siaga": "112", "baseline": "9112", "baseline-rec": "9113"}
EXPECTED = dict(unit="psc-kuta", language="en", category="medical", district="kuta")  # what 9,1,2 means


@dataclass
class Step:
    path: str
    rate: float
    prefix: str
    placed: int = 0
    sipp_failed: int = 0
    reached: int = 0  # answered by the expected agency line
    humans: int = 0  # answered by anyone: that line, another unit, or the fallback route's operators
    cases: CaseCounts | None = None
    invite_ms: list[int] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems

    def cpu_ms_per_call(self, process: str) -> float | None:
        """CPU time a process spent per call placed: steadier than latency on a busy machine."""
        if not self.placed or process not in self.cpu:
            return None
        return self.cpu[process] / 100 * self.seconds * 1000 / self.placed

    def p(self, q: float) -> float | None:
        return percentile(self.invite_ms, q)


class Runner:
    def __init__(self, system: BenchSystem, folder: Path, pcap: Path, *, hold_s: float, max_invite_ms: float) -> None:
        self.system, self.folder, self.pcap = system, folder, pcap
        self.hold_s, self.max_invite_ms = hold_s, max_invite_ms
        self.count = 0
        self.run_id = random.randrange(10, 100)  # runs rarely share a prefix (Asterisk's logs outlive runs)

    def prefix(self, mode: int) -> str:
        """A fixed-length caller-number prefix unique to one step: its calls are found by it."""
        self.count += 1
        return f"08{self.run_id}{mode}{self.count:03d}"

    def step(
        self,
        path: str,
        rate: float,
        calls: int,
        *,
        mode: int | None = None,
        on_progress=None,
        progress_every: float = 2.0,
    ) -> Step:
        step = Step(path, rate, self.prefix(mode or (1 if path == "siaga" else 2)))
        say(f"[bold]{path}[/] at {rate:g} calls/s: {calls} calls, callers {step.prefix}*")
        sipp = Sipp(
            self.folder / f"{step.prefix}-{path}-{rate:g}",
            target=f"127.0.0.1:{self.system.sip_port}",
            number=PATHS[path],
            prefix=step.prefix,
            pcap=self.pcap,
            rate=rate,
            calls=calls,
            hold_s=self.hold_s,
        )
        meter = CpuMeter({name: self.system.pid(name) for name in ("service", "asterisk", "watchdog", "redis")})
        started = time.monotonic()

        def progress(row: dict) -> None:
            say(
                f"  {time.monotonic() - started:5.0f}s  created {row.get('TotalCallCreated', '?'):>6}  "
                f"in progress {row.get('CurrentCall', '?'):>5}  ok {row.get('SuccessfulCall(C)', '?'):>6}  "
                f"failed {row.get('FailedCall(C)', '?'):>4}"
            )
            if on_progress:
                on_progress()

        result = sipp.run(progress, every=progress_every)
        step.cpu = meter.read()
        step.seconds = time.monotonic() - started
        step.placed, step.sipp_failed, step.invite_ms = result.created, result.failed, result.invite_ms
        if result.timed_out:
            step.problems.append("SIPp did not finish in time")
        self._settle(step)
        self._judge(step, calls)
        self.system.prune_recordings()
        say(
            f"  -> {'[green]pass[/]' if step.passed else '[red]FAIL[/]'}: placed {step.placed}, reached agency "
            f"{step.reached}, INVITE->200 p50 {fmt(step.p(50))} ms p99 {fmt(step.p(99))} ms"
            + (f"; {'; '.join(step.problems)}" if step.problems else "")
        )
        return step

    def _settle(self, step: Step, seconds: float = 60) -> None:
        """Wait until the calls are gone from Asterisk and (our path) every case is closed."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            channels = active_channels(self.system.asterisk.cli("core show channels count"))
            cases = self.system.db.counts(step.prefix, **EXPECTED) if step.path == "siaga" else None
            if channels == 0 and (cases is None or cases.ended == cases.cases):
                break
            time.sleep(0.5)
        else:
            step.problems.append(f"not settled after {seconds:.0f}s ({channels} channels left)")
        step.cases = self.system.db.counts(step.prefix, **EXPECTED) if step.path == "siaga" else None
        answers = agency_answers(self.system.messages_log, step.prefix)
        step.reached, step.humans = answers.get(EXPECTED["unit"], 0), sum(answers.values())

    def _judge(self, step: Step, calls: int) -> None:
        if step.placed < calls:
            step.problems.append(f"only {step.placed} of {calls} calls placed")
        if step.sipp_failed:
            step.problems.append(f"{step.sipp_failed} failed in SIPp")
        if step.reached < step.placed:
            step.problems.append(
                f"{step.placed - step.reached} never reached {EXPECTED['unit']} "
                f"({step.placed - step.humans} reached no human)"
            )
        if step.cases is not None:
            if step.cases.cases < step.placed:
                step.problems.append(f"{step.placed - step.cases.cases} cases missing")
            if step.cases.completed < step.cases.cases:
                detail = self.system.db.dispositions(step.prefix)
                step.problems.append(
                    f"{step.cases.cases - step.cases.completed} cases not completed as pressed {detail}"
                )
        p99 = step.p(99)
        if p99 is None or p99 > self.max_invite_ms:
            step.problems.append(f"INVITE->200 p99 {fmt(p99)} ms > {self.max_invite_ms:g} ms")


def ramp(
    runner: Runner, rates: list[float], step_seconds: float, max_calls: int, paths=("siaga", "baseline")
) -> dict[str, list[Step]]:
    """Step both paths up, alternating at each rate; a path stops at its first failed step."""
    steps: dict[str, list[Step]] = {p: [] for p in paths}
    live = list(paths)
    for rate in rates:
        for path in list(live):
            calls = min(max_calls, max(1, round(rate * step_seconds)))
            step = runner.step(path, rate, calls)
            steps[path].append(step)
            if not step.passed:
                live.remove(path)
            time.sleep(3)  # let RTP ports and timers of the last calls go
        if not live:
            break
    return steps


def sustained(steps: list[Step]) -> float | None:
    """The last rate that passed before the first failure."""
    best = None
    for step in steps:
        if not step.passed:
            break
        best = step.rate
    return best
