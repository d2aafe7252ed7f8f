"""What the bench reads off the running system: CPU time, channels, agency answers."""

from __future__ import annotations

import os
import re
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
ANSWER_LINE = re.compile(r"siaga-bench answered unit=(\S+) caller=(\S+)")


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of a process so far (0 when it is gone)."""
    if not pid:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (fields 14 and 15)


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, all cores (from /proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def children_seconds() -> float:
    """CPU time of this process's finished, waited-for children (SIPp, once a step is over)."""
    times = os.times()
    return times.children_user + times.children_system


class CpuMeter:
    """CPU use over an interval: per process in % of one core, the machine in % of all cores.

    "sipp" is the CPU of children that ended meanwhile: read it right after SIPp exits.
    """

    def __init__(self, pids: dict[str, int | None]) -> None:
        self.pids = pids
        self.start = {name: cpu_seconds(pid) for name, pid in pids.items()}
        self.children = children_seconds()
        self.machine = machine_busy()
        self.t0 = os.times().elapsed

    def read(self) -> dict[str, float]:
        elapsed = max(os.times().elapsed - self.t0, 1e-6)
        out = {name: 100 * (cpu_seconds(pid) - self.start[name]) / elapsed for name, pid in self.pids.items()}
        out["sipp"] = 100 * (children_seconds() - self.children) / elapsed
        busy, total = machine_busy()
        out["machine"] = 100 * (busy - self.machine[0]) / max(total - self.machine[1], 1)
        return out


def agency_answers(messages_log: Path, prefix: str) -> dict[str, int]:
    """Callers with ``prefix`` that an agency line answered, by unit (each caller counted once)."""
    seen: dict[str, str] = {}
    try:
        text = messages_log.read_text(errors="replace")
    except OSError:
        return {}
    for unit, caller in ANSWER_LINE.findall(text):
        if caller.startswith(prefix):
            seen.setdefault(caller, unit)
    counts: dict[str, int] = {}
    for unit in seen.values():
        counts[unit] = counts.get(unit, 0) + 1
    return counts


def active_channels(cli_output: str) -> int:
    """The count from ``core show channels count``."""
    match = re.search(r"(\d+) active channel", cli_output)
    return int(match.group(1)) if match else -1
