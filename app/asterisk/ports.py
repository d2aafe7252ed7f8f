"""Is a port free? Checked before starting Asterisk, whose own error is buried in its log."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from app.asterisk.locate import AsteriskError
from app.asterisk.tls import enabled as tls_enabled
from app.settings import Settings


class PortInUse(AsteriskError):
    """A port Asterisk needs is taken; the message names it and what to do."""


def check_free(settings: Settings, instance: str, pid_file: Path | None = None) -> None:
    wanted = [
        ("SIP (UDP)", socket.SOCK_DGRAM, settings.sip.bind_host, settings.sip.port, "SIAGA_SIP__PORT"),
        ("ARI/HTTP (TCP)", socket.SOCK_STREAM, settings.ari.host, settings.ari.port, "SIAGA_ARI__PORT"),
    ]
    if tls_enabled(settings):  # Asterisk would only log a busy TLS port, and browser phones fail
        port = settings.webrtc.tls_port
        wanted.append(("HTTPS/WSS (TCP)", socket.SOCK_STREAM, settings.ari.host, port, "SIAGA_WEBRTC__TLS_PORT"))
    for what, kind, host, port, env in wanted:
        if not port_free(kind, host, port):
            hint = _running_hint(instance, pid_file)
            raise PortInUse(
                f"{what} port {host}:{port} is already in use{hint}. Stop whatever holds it "
                f"(`ss -lntup | grep :{port}`) or choose another port ({env})."
            )


def port_free(kind: int, host: str, port: int) -> bool:
    family = socket.getaddrinfo(host or "0.0.0.0", port, type=kind)[0][0]
    with socket.socket(family, kind) as sock:
        if kind == socket.SOCK_STREAM:
            # Asterisk binds with SO_REUSEADDR too: connections in TIME_WAIT do not count.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _running_hint(instance: str, pid_file: Path | None) -> str:
    try:
        pid = int(pid_file.read_text().strip()) if pid_file else 0
        if pid:
            os.kill(pid, 0)
            return f" (Asterisk instance '{instance}' still runs as pid {pid})"
    except (OSError, ValueError):
        pass
    return ""
