"""A tiny SIP registrar for tests: digest challenge (MD5, no qop), then 200.

It answers only REGISTER and keeps what it saw, so a test can check that the
line authenticated with the right password and unregistered on the way out.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import socket
import threading

REALM = "siaga-test"


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


class Registrar:
    def __init__(self, passwords: dict[str, str]) -> None:
        self.passwords = passwords
        self.seen: list[dict] = []  # one entry per authenticated REGISTER: user, expires, accepted
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.uri = f"sip:127.0.0.1:{self.port}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> Registrar:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            text = data.decode(errors="replace")
            if text.startswith("REGISTER "):
                self.sock.sendto(self._answer(text).encode(), peer)

    def _answer(self, request: str) -> str:
        head = request.split("\r\n\r\n", 1)[0].split("\r\n")
        headers = [
            h
            for h in head[1:]
            if h.split(":", 1)[0].strip().lower() in ("via", "from", "to", "call-id", "cseq", "contact")
        ]
        auth = next((h.split(":", 1)[1] for h in head if h.lower().startswith("authorization:")), None)
        expires = re.search(r"(?im)^expires:\s*(\d+)", request) or re.search(r"expires=(\d+)", request)
        if auth is None:
            status = "401 Unauthorized"
            headers.append(f'WWW-Authenticate: Digest realm="{REALM}", nonce="{secrets.token_hex(8)}", algorithm=MD5')
        else:
            fields = dict(re.findall(r'(\w+)="?([^",]*)"?', auth))
            user = fields.get("username", "")
            ha1 = _md5(f"{user}:{REALM}:{self.passwords.get(user, secrets.token_hex(8))}")
            expected = _md5(f"{ha1}:{fields.get('nonce')}:{_md5('REGISTER:' + fields.get('uri', ''))}")
            accepted = fields.get("response") == expected
            self.seen.append(
                {"user": user, "expires": int(expires.group(1)) if expires else None, "accepted": accepted}
            )
            status = "200 OK" if accepted else "403 Forbidden"
            if accepted and expires:
                headers.append(f"Expires: {expires.group(1)}")
        headers = [h + (";tag=reg" if h.lower().startswith("to:") and "tag=" not in h else "") for h in headers]
        return "\r\n".join([f"SIP/2.0 {status}", *headers, "Content-Length: 0", "", ""])
