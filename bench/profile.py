"""Sample the call service with py-spy while a step runs; summarise where its CPU went.

py-spy (``.venv/bin/pip install py-spy``) reads the process from outside, so
the service runs unchanged; ``--nonblocking`` keeps it from pausing the
process for each sample. The raw output (folded stacks) is kept beside the
summary; ``flamegraph.pl`` or speedscope draw it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path


def py_spy() -> str | None:
    return shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")


class Profile:
    def __init__(self, pid: int, out: Path, rate: int = 100) -> None:
        self.pid, self.out, self.rate = pid, out, rate
        self._proc: subprocess.Popen | None = None

    def __enter__(self) -> Profile:
        binary = py_spy()
        if binary is None:
            raise RuntimeError("py-spy is not installed: .venv/bin/pip install py-spy")
        self._proc = subprocess.Popen(
            [
                binary,
                "record",
                "-p",
                str(self.pid),
                "-r",
                str(self.rate),
                "--nonblocking",
                "--threads",
                "-f",
                "raw",
                "-o",
                str(self.out),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        return self

    def __exit__(self, *exc) -> None:
        if self._proc and self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGINT)  # py-spy writes its file on SIGINT
            try:
                self._proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self._proc.pid, signal.SIGKILL)
                self._proc.wait()


def summarise(raw: Path, top: int = 20) -> dict[str, list[tuple[str, float]]]:
    """Share of samples per thread, per function (self time) and per function including callees."""
    threads: Counter[str] = Counter()
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n, frames = int(count), stack.split(";")
        total += n
        threads[frames[0].split(": ", 1)[-1]] += n  # "thread (pid): name" -> name
        own[frames[-1]] += n
        for frame in set(frames[1:]):
            inclusive[frame] += n
    share = lambda c: [(k, round(100 * v / max(total, 1), 1)) for k, v in c.most_common(top)]  # noqa: E731
    return {"samples": [("total", total)], "threads": share(threads), "self": share(own), "inclusive": share(inclusive)}
