"""Who holds a port? Standard library only: ``make run`` asks before bootstrap, when no venv may exist yet.

``siaga run`` needs SIP (UDP), Asterisk's HTTP/ARI (TCP) and the health endpoint
(TCP). A second ``make run`` must fail at once with one line that names the
holder, not after bootstrap, directory loading and prompts.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

# (what, SOCK_*, the env variable that moves it, default port); hosts are loopback unless configured.
PORTS = (
    ("SIP", socket.SOCK_DGRAM, "SIAGA_SIP__PORT", 5060, "SIAGA_SIP__BIND_HOST"),
    ("Asterisk HTTP/ARI", socket.SOCK_STREAM, "SIAGA_ARI__PORT", 8088, "SIAGA_ARI__HOST"),
    ("health endpoint", socket.SOCK_STREAM, "SIAGA_WEB__PORT", 8000, "SIAGA_WEB__HOST"),
    ("web application", socket.SOCK_STREAM, "SIAGA_WEBAPP__PORT", 8080, "SIAGA_WEBAPP__HOST"),
)


def busy(environ: dict[str, str] | None = None) -> list[str]:
    """One sentence per port ``siaga run`` needs that is taken; empty when all are free."""
    env = os.environ if environ is None else environ
    found = []
    for what, kind, port_var, default, host_var in PORTS:
        port, host = int(env.get(port_var) or default), env.get(host_var) or "127.0.0.1"
        if free(kind, host, port):
            continue
        proto = "udp" if kind == socket.SOCK_DGRAM else "tcp"
        holder = holder_of(proto, port)
        found.append(f"{what} port {host}:{port}/{proto} is held by {holder or 'another process'}")
    return found


def free(kind: int, host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, kind) as sock:
        if kind == socket.SOCK_STREAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT does not count
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def holder_of(proto: str, port: int) -> str | None:
    """``asterisk (pid 1234)`` for the process with a socket bound to ``port``, from /proc (None if unknown)."""
    inodes = set()
    for table in (f"/proc/net/{proto}", f"/proc/net/{proto}6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fds = list((proc / "fd").iterdir())
        except OSError:  # gone, or not ours to look at
            continue
        links = set()
        for fd in fds:
            try:
                links.add(os.readlink(fd))
            except OSError:  # closed meanwhile (the listing's own descriptor, for one)
                continue
        if any(f"socket:[{inode}]" in links for inode in inodes):
            try:
                name = (proc / "comm").read_text().strip()
            except OSError:
                name = "a process"
            return f"{name} (pid {proc.name})"
    return None


if __name__ == "__main__":
    import sys

    taken = busy()
    if taken:
        print(f"siaga: cannot start: {'; '.join(taken)}. Is `make run` already running? Stop it with Ctrl-C.")
        sys.exit(1)
