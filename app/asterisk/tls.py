"""The certificate of Asterisk's HTTPS server, which carries the browser softphones' SIP (WSS).

Principle: a demo needs no certificate authority. ``ensure_self_signed`` makes a
self-signed certificate once (bootstrap calls it) and keeps an existing one, so an
operator's real certificate at the same paths (``webrtc.cert_file``, ``webrtc.key_file``)
is never overwritten. The key is created 0600 in a 0700 folder (``app.files``).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from app.files import private_dir, write_private
from app.settings import Settings

DAYS = 825  # the longest validity browsers accept for a server certificate


def enabled(settings: Settings) -> bool:
    """Whether Asterisk serves HTTPS (wss://): a TLS port, and a certificate and key to serve."""
    webrtc = settings.webrtc
    return bool(webrtc.tls_port) and Path(webrtc.cert_file).is_file() and Path(webrtc.key_file).is_file()


def ensure_self_signed(settings: Settings) -> bool:
    """Make the certificate and key when either is missing; True when made."""
    cert, key = Path(settings.webrtc.cert_file), Path(settings.webrtc.key_file)
    if cert.is_file() and key.is_file():
        return False
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("openssl is not installed: cannot make the softphones' TLS certificate")
    names = sorted({"localhost", "127.0.0.1", socket.gethostname(), settings.webrtc.public_host or settings.ari.host})
    alt = ",".join(f"IP:{n}" if _is_ip(n) else f"DNS:{n}" for n in names if n and n not in ("0.0.0.0", "::"))
    with tempfile.TemporaryDirectory() as tmp:
        private_dir(tmp)
        subprocess.run(
            [
                openssl,
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                str(DAYS),
                "-subj",
                "/CN=siaga",
                "-addext",
                f"subjectAltName={alt}",
                "-keyout",
                f"{tmp}/key",
                "-out",
                f"{tmp}/cert",
            ],
            check=True,
            capture_output=True,
        )
        private_dir(key.parent)
        private_dir(cert.parent)
        write_private(key, Path(tmp, "key").read_bytes(), fsync=True)
        write_private(cert, Path(tmp, "cert").read_bytes(), fsync=True)
    return True


def _is_ip(name: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in name else socket.AF_INET, name)
    except OSError:
        return False
    return True


def main() -> None:
    """Bootstrap's step: ``python -c 'from app.asterisk.tls import main; main()'``."""
    settings = Settings.load()
    made = ensure_self_signed(settings)
    print(f"{'made' if made else 'kept'} {settings.webrtc.cert_file} and {settings.webrtc.key_file} (0600)")
