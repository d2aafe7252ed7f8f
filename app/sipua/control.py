"""Start user agents as subprocesses and wait for what they report.

Principle: a ``SipUa`` is a handle on one ``python -m app.sipua`` process. A
reader thread turns its stdout JSON lines into ``events`` (and keeps the tail
of stderr); ``wait_for`` blocks on a condition with a deadline -- no sleeps --
and hands out each matching event once, in arrival order, so three
``wait_for("dtmf")`` calls return three digits in the order they arrived.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from app.paths import ROOT
from app.sipua.cli import recording_path  # noqa: F401  (re-exported for tests and the CLI)

READY_TIMEOUT = 15.0


def _argv(opts: dict[str, Any]) -> list[str]:
    """answer_after=1 -> --answer-after 1; busy=True -> --busy; dtmf=[9,1,2] -> --dtmf 9,1,2."""
    argv: list[str] = []
    for key, value in opts.items():
        flag = "--" + key.replace("_", "-")
        if value is None or value is False:
            continue
        if value is True:
            argv.append(flag)
        elif isinstance(value, (list, tuple)):
            argv += [flag, ",".join(str(v) for v in value)]
        else:
            argv += [flag, str(value)]
    return argv


class SipUa:
    def __init__(self, argv: list[str], name: str = "sipua") -> None:
        self.name = name
        self.events: list[dict[str, Any]] = []
        self.stderr_tail: deque[str] = deque(maxlen=30)
        self.ready: dict[str, Any] = {}
        self._taken: set[int] = set()
        self._changed = threading.Condition()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.sipua", *argv],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self._readers = [
            threading.Thread(target=self._read_events, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @property
    def port(self) -> int:
        return int(self.ready["port"])

    def _read_events(self) -> None:
        assert self.proc.stdout is not None  # stdout=PIPE
        for line in self.proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                event = {"event": "unparsed", "line": line.rstrip("\n")}
            with self._changed:
                self.events.append(event)
                self._changed.notify_all()
        self.proc.wait()
        with self._changed:
            self._changed.notify_all()  # wake waiters: no more events will come

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None  # stderr=PIPE
        for line in self.proc.stderr:
            self.stderr_tail.append(line.rstrip("\n"))

    def wait_for(self, event: str, timeout: float = 10.0, **match: Any) -> dict[str, Any]:
        """The first not yet returned ``event`` whose fields equal ``match``; TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for i, candidate in enumerate(self.events):
                    if (
                        i not in self._taken
                        and candidate.get("event") == event
                        and all(candidate.get(k) == v for k, v in match.items())
                    ):
                        self._taken.add(i)
                        return candidate
                left = deadline - time.monotonic()
                if left <= 0 or not self._readers[0].is_alive():
                    raise TimeoutError(self._explain(event, match, timeout))
                self._changed.wait(left)

    def _explain(self, event: str, match: dict[str, Any], timeout: float) -> str:
        code = self.proc.poll()
        state = "is still running" if code is None else f"exited with code {code}"
        wanted = event + (f" {match}" if match else "")
        lines = [f"{self.name}: no '{wanted}' event within {timeout:g}s; the UA {state}.", "Its last events:"]
        lines += [f"  {json.dumps({k: v for k, v in e.items() if k != 'at'})}" for e in self.events[-15:]] or [
            "  (none)"
        ]
        lines += ["Its last stderr lines:"] + [f"  {s}" for s in list(self.stderr_tail)[-15:]]
        return "\n".join(lines)

    def names(self) -> list[str | None]:
        """Event names so far, in order (handy in assertions); None for a line without one."""
        with self._changed:
            return [e.get("event") for e in self.events]

    def wait_exit(self, timeout: float = 10.0) -> int:
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise TimeoutError(self._explain("(process exit)", {}, timeout)) from None
        self._readers[0].join(timeout)
        return code

    def stop(self, timeout: float = 5.0) -> int:
        """SIGTERM (hang up, unregister, exit); SIGKILL if it does not go within ``timeout``."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for reader in self._readers:
            reader.join(timeout)
        return self.proc.returncode

    def __enter__(self) -> SipUa:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _absolute_files(opts: dict[str, Any]) -> dict[str, Any]:
    # The UA runs in the project root: make WAV paths mean what the caller meant.
    return {k: (str(Path(v).resolve()) if k in ("play", "record") and v else v) for k, v in opts.items()}


def _start(argv: list[str], name: str, wait_ready: bool) -> SipUa:
    ua = SipUa(argv, name)
    if wait_ready:
        try:
            ua.ready = ua.wait_for("ready", READY_TIMEOUT)
        except TimeoutError:
            ua.stop()
            raise
    return ua


def start_line(
    user: str, password: str | None = None, registrar: str | None = None, *, wait_ready: bool = True, **opts: Any
) -> SipUa:
    """A ``line`` UA (registers when ``registrar`` is given); returns once it is ``ready``."""
    argv = ["line", *_argv({"user": user, "password": password, "registrar": registrar, **_absolute_files(opts)})]
    return _start(argv, f"line {user}", wait_ready)


def start_call(target: str, *, wait_ready: bool = True, **opts: Any) -> SipUa:
    """A ``call`` UA dialling ``target`` at once; returns once it is ``ready``."""
    return _start(["call", *_argv({"target": target, **_absolute_files(opts)})], f"call {target}", wait_ready)
