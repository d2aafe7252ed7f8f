"""Front-end files from web/node_modules: only the allow-listed ones are served, and without
node_modules the app still starts, says so once, and its pages say what is missing."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from tests.support.parts import need
from tests.web.conftest import KEY
from tests.web.test_pages import log_in
from web import vendor
from web.main import create_app


@pytest.fixture
def installed():
    need(not vendor.missing(), "web/node_modules (bootstrap runs npm ci in web/)")


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("jssip/jssip.min.js", "text/javascript"),
        ("swagger-ui/swagger-ui-bundle.js", "text/javascript"),
        ("swagger-ui/swagger-ui.css", "text/css"),
    ],
)
def test_allow_listed_files_are_served_from_node_modules(client, installed, name, kind):
    response = client.get(f"/static/vendor/{name}")
    assert response.status_code == 200 and response.headers["content-type"].startswith(kind)
    assert response.content == (vendor.NODE_MODULES / vendor.FILES[name]).read_bytes()


@pytest.mark.parametrize(
    "name",
    [
        "jssip/package.json",
        "swagger-ui-dist/swagger-ui-bundle.js",
        "swagger-ui/index.html",
        "../package.json",
        "%2e%2e/package.json",
        ".siaga/jssip.min.js",
    ],
)
def test_nothing_else_in_node_modules_is_served(client, installed, name):
    assert client.get(f"/static/vendor/{name}").status_code == 404


def test_without_node_modules_the_app_starts_logs_one_line_and_the_pages_say_so(
    settings, engine, tickets, tmp_path, monkeypatch, caplog
):
    monkeypatch.setattr(vendor, "NODE_MODULES", tmp_path / "node_modules")
    with caplog.at_level(logging.WARNING, "siaga.web.vendor"):
        app = create_app(settings, engine, KEY)
    [line] = [r.getMessage() for r in caplog.records if r.name == "siaga.web.vendor"]
    assert "front-end packages missing" in line and "scripts/bootstrap.sh" in line
    with TestClient(app) as client:
        assert client.get("/static/vendor/jssip/jssip.min.js").status_code == 404
        docs = client.get("/docs").text
        assert "Swagger UI is not installed" in docs and "/api/cases/{ticket}" in docs and "<script" not in docs
        log_in(client)
        home = client.get("/").text
        assert "JsSIP) is not installed" in home and "<script" not in home and tickets[0] in home
