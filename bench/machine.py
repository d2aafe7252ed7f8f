"""What the numbers were measured on, and what else was running at the time."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from pathlib import Path


def _run(*cmd: str) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"


def machine_info(asterisk_version: str) -> dict[str, str]:
    mem_kb = next(
        (
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal:")
        ),
        0,
    )
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "?",
    )
    return {
        "cpus": f"{os.cpu_count()} ({cpu})",
        "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "kernel": platform.release(),
        "os": _run("sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"),
        "asterisk": asterisk_version,
        "python": sys.version.split()[0],
        "sipp": _run("sh", "-c", "sipp -v 2>&1 | grep -o 'SIPp v[^ ]*'"),
        "core speed": core_speed(),
        # The checkout is shared and changes while we measure: say which code ran (read-only git).
        "code": _run(
            "sh",
            "-c",
            f"cd '{Path(__file__).resolve().parent.parent}' && echo \"$(git rev-parse --short HEAD) + "
            '$(git status --porcelain | wc -l) changed/new paths in the working tree"',
        ),
    }


def core_speed(repeat: int = 5) -> str:
    """One core's speed for this Python, so that rounds on different machines of a kind can be compared.

    Machines of one kind differ (same CPU name, up to 2-3x apart in CPU per call), so each run
    records the best of a few timings of a fixed pure-Python loop.
    """
    best = min(_timed_loop() for _ in range(repeat))
    return f"sum(range(10**7)) in {best * 1000:.0f} ms (best of {repeat}; lower is faster)"


def _timed_loop() -> float:
    started = time.perf_counter()
    sum(range(10**7))
    return time.perf_counter() - started


def load_snapshot() -> dict[str, str]:
    """Load average and the busiest processes: other work on the machine skews every figure."""
    return {
        "uptime": _run("uptime"),
        "top": _run("sh", "-c", "ps -eo pid,pcpu,rss,comm --sort=-pcpu | head -8"),
    }
