"""The protective headers on every answer: pages, API, static files and errors alike."""

from __future__ import annotations

import pytest

from tests.web.test_pages import log_in

CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",  # Swagger UI's icons
    "font-src": "'self'",
    # CSP Level 3: also ws:// and wss:// to this host and port; and the softphone's SIP WebSocket (ari.host:port)
    "connect-src": "'self' ws://127.0.0.1:8088",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def directives(header: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


@pytest.mark.parametrize("path", ["/", "/login", "/docs", "/api/cases", "/static/siaga.css", "/no-such-page"])
def test_every_answer_carries_the_csp_nosniff_and_same_origin_referrer(client, path):
    log_in(client)
    response = client.get(path)
    assert directives(response.headers["content-security-policy"]) == CSP
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["x-frame-options"] == "DENY"
