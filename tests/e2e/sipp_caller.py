"""One SIPp call with a From header of the test's choosing (tests/e2e/hostile_caller.xml).

For what the pjsua2 callers cannot send: a URI user of 1,000 characters (pjsua2
refuses URIs past 256 characters, and sends big requests over TCP, which our
Asterisk does not take). Blocking: returns once the call has ended.
"""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

SCENARIO = Path(__file__).parent / "hostile_caller.xml"


def sipp_call(folder: Path, target: str, number: str, *, caller: str, name: str = "", hold_ms: int = 2000) -> None:
    """Call ``number`` at ``target`` (host:port) from ``caller``; raises with SIPp's errors if the call failed."""
    folder.mkdir(parents=True, exist_ok=True)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    quoted = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"' if name else ""
    command = ["sipp", target, "-sf", str(SCENARIO), "-s", number, "-m", "1", "-i", "127.0.0.1", "-p", str(port)]
    command += ["-key", "caller", caller, "-key", "name", quoted, "-d", str(hold_ms), "-timeout", "60"]
    command += ["-timeout_error", "-nostdin", "-trace_err", "-error_file", str(folder / "errors.log")]
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        errors = (folder / "errors.log").read_text(errors="replace") if (folder / "errors.log").exists() else ""
        raise AssertionError(f"SIPp call from {caller[:40]!r} failed ({done.returncode}):\n{errors[-2000:]}")
