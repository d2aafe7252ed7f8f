"""One SIPp run: ``calls`` callers at ``rate`` calls/s against one number, bounded in time.

Principle: the SIPp process belongs to the ``Sipp`` object that started it
and is killed (its whole process group) if it outlives its deadline, on
Ctrl-C and on any error, so no caller generator is ever left behind. What
SIPp measured comes back from its own files: the statistics CSV (calls
created, successful, failed) and the per-call response times (INVITE -> 200).
"""

from __future__ import annotations

import csv
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

SCENARIO = Path(__file__).parent / "scenario.xml"


@dataclass
class SippResult:
    created: int = 0
    successful: int = 0
    failed: int = 0
    invite_ms: list[int] = field(default_factory=list)  # INVITE sent -> 200 received, per answered call
    returncode: int | None = None
    timed_out: bool = False  # we had to stop SIPp at the deadline


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def render_scenario(folder: Path, pcap: Path, answer_timeout_ms: int) -> Path:
    text = SCENARIO.read_text().replace("@PCAP@", str(pcap)).replace("@ANSWER_TIMEOUT_MS@", str(answer_timeout_ms))
    path = folder / "caller.xml"
    path.write_text(text)
    return path


class Sipp:
    def __init__(
        self,
        folder: Path,
        *,
        target: str,
        number: str,
        prefix: str,
        pcap: Path,
        rate: float,
        calls: int,
        hold_s: float,
        answer_timeout_s: float = 10.0,
    ) -> None:
        self.folder, self.target, self.number, self.prefix = folder, target, number, prefix
        self.rate, self.calls, self.hold_s = rate, calls, hold_s
        folder.mkdir(parents=True, exist_ok=True)
        self.scenario = render_scenario(folder, pcap, int(answer_timeout_s * 1000))
        # Every call placed, the last one held to its end, and slack for a slow system.
        self.max_seconds = calls / rate + hold_s + answer_timeout_s + 20
        self.stats = folder / "stats.csv"
        self._proc: subprocess.Popen | None = None

    def command(self) -> list[str]:
        return [
            "sipp",
            self.target,
            "-sf",
            str(self.scenario),
            "-s",
            self.number,
            "-i",
            "127.0.0.1",
            "-p",
            str(_free_udp_port()),
            "-mi",
            "127.0.0.1",
            "-mp",
            str(_free_udp_port()),
            "-r",
            f"{self.rate:g}",
            "-m",
            str(self.calls),
            "-d",
            str(int(self.hold_s * 1000)),
            "-l",
            str(int(self.rate * (self.hold_s + 15)) + 50),  # a cap far above steady state
            "-key",
            "prefix",
            self.prefix,
            "-trace_stat",
            "-stf",
            str(self.stats),
            "-fd",
            "1",
            "-trace_rtt",
            "-rtt_freq",
            "1",
            "-trace_err",
            "-timeout",
            f"{int(self.max_seconds)}s",
            "-nostdin",
            "-max_recv_loops",
            "10000",
        ]

    def run(self, progress: Callable[[dict], None] | None = None, every: float = 2.0) -> SippResult:
        with open(self.folder / "sipp.out", "wb") as out:
            self._proc = subprocess.Popen(
                self.command(),
                cwd=self.folder,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        result = SippResult()
        deadline = time.monotonic() + self.max_seconds + 15
        try:
            while self._proc.poll() is None:
                if time.monotonic() > deadline:
                    result.timed_out = True
                    break
                time.sleep(every)
                if progress and (row := self.last_stats()):
                    progress(row)
        finally:
            self.kill()
        result.returncode = self._proc.returncode
        row = self.last_stats() or {}
        result.created = int(row.get("TotalCallCreated", 0) or 0)
        result.successful = int(row.get("SuccessfulCall(C)", 0) or 0)
        result.failed = int(row.get("FailedCall(C)", 0) or 0)
        result.invite_ms = self.response_times()
        return result

    def kill(self) -> None:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGINT, 5), (signal.SIGKILL, 5)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                proc.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def last_stats(self) -> dict | None:
        try:
            rows = list(csv.DictReader(self.stats.read_text(errors="replace").splitlines(), delimiter=";"))
        except OSError:
            return None
        return rows[-1] if rows else None

    def response_times(self) -> list[int]:
        times: list[int] = []
        for path in self.folder.glob("caller_*_rtt.csv"):
            for row in csv.DictReader(path.read_text(errors="replace").splitlines(), delimiter=";"):
                if row.get("rtd_no") == "1" and row.get("response_time_ms", "").strip():
                    times.append(int(float(row["response_time_ms"])))
        return times
