"""The pages: login form with its CSRF token, the home page in Badung time, logging out."""

from __future__ import annotations

import re

import pytest

from tests.support.parts import need
from tests.web.conftest import PASSWORD
from web import vendor
from web.deps import LOGIN_COOKIE, SESSION_COOKIE


def form_token(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def log_in(client, name="agent-1", password=PASSWORD, then="/"):
    form = client.get("/login", params={"next": then})
    return client.post(
        "/login",
        data={"username": name, "password": password, "csrf": form_token(form.text), "next": then},
        follow_redirects=False,
    )


def test_logging_in_sets_a_strict_httponly_session_and_the_home_page_says_who_in_wita(client, tickets):
    response = log_in(client)
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie  # plain http here
    home = client.get("/")
    assert home.status_code == 200 and "agent-1 (agent)" in home.text
    assert tickets[0] in home.text and "2026-12-04 21:50:52 WITA" in home.text


def test_the_session_cookie_is_secure_over_https(client):
    form = client.get("https://testserver/login")
    response = client.post(
        "https://testserver/login",
        data={"username": "agent-1", "password": PASSWORD, "csrf": form_token(form.text)},
        follow_redirects=False,
    )
    assert "Secure" in next(c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))


def test_pages_load_nothing_from_another_site(client, tickets):
    log_in(client)
    for path in ("/", "/login", "/docs"):
        html = client.get(path).text
        assert not re.search(r'(src|href)="(https?:)?//', html), path
    assert "default-src 'self'" in client.get("/").headers["content-security-policy"]


@pytest.mark.parametrize("csrf", [None, "", "forged"])
def test_a_login_post_without_the_forms_token_is_403(client, csrf):
    client.get("/login")
    data = {"username": "agent-1", "password": PASSWORD} | ({} if csrf is None else {"csrf": csrf})
    assert client.post("/login", data=data, follow_redirects=False).status_code == 403


def test_a_login_post_from_another_site_without_the_login_cookie_is_403(client):
    token = form_token(client.get("/login").text)
    client.cookies.delete(LOGIN_COOKIE)
    response = client.post("/login", data={"username": "agent-1", "password": PASSWORD, "csrf": token})
    assert response.status_code == 403


@pytest.mark.parametrize("how", ["none", "wrong", "form", "header"])
def test_logging_out_needs_the_sessions_csrf_token(client, how):
    log_in(client)
    token = form_token(client.get("/").text)
    data = {"csrf": token} if how == "form" else {"csrf": "wrong"} if how == "wrong" else None
    headers = {"X-CSRF-Token": token} if how == "header" else None
    response = client.post("/logout", data=data, headers=headers, follow_redirects=False)
    if how in ("none", "wrong"):
        assert response.status_code == 403 and client.get("/", follow_redirects=False).status_code == 200
    else:
        assert response.status_code == 303 and response.headers["location"] == "/login"
        assert client.get("/", follow_redirects=False).status_code == 303


def test_a_wrong_password_shows_the_form_again_with_401(client):
    response = log_in(client, password="wrong-password")
    assert response.status_code == 401 and "Wrong user name or password." in response.text


def test_too_many_wrong_passwords_on_the_form_are_429_with_retry_after(client):
    for _ in range(5):
        assert log_in(client, password="wrong-password").status_code == 401
    response = log_in(client)
    assert response.status_code == 429 and int(response.headers["retry-after"]) >= 1


@pytest.mark.parametrize(
    ("then", "lands"), [("/?x=1", "/?x=1"), ("//evil.example/", "/"), ("https://evil.example/", "/"), ("/\\evil", "/")]
)
def test_after_login_only_a_path_on_this_site_is_followed(client, then, lands):
    assert log_in(client, then=then).headers["location"] == lands


def test_a_disabled_users_session_ends_at_once(client, engine):
    from app import db
    from app.users.service import disable_user

    log_in(client)
    with db.session_factory(engine)() as session:
        disable_user(session, "agent-1")
    assert client.get("/", follow_redirects=False).headers["location"] == "/login?next=/"


def test_the_api_reference_is_swagger_ui_from_this_site(client):
    need(vendor.present("swagger-ui/swagger-ui-bundle.js"), "web/node_modules (bootstrap runs npm ci in web/)")
    docs = client.get("/docs")
    scripts = re.findall(r'<script src="([^"]+)"', docs.text)
    assert docs.status_code == 200 and scripts == ["/static/vendor/swagger-ui/swagger-ui-bundle.js", "/static/docs.js"]
    assert "<script>" not in docs.text  # no inline script: the CSP would refuse it
