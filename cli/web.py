"""``siaga web``: the web application for call-takers (its own process; see docs/WEB.md)."""

from __future__ import annotations

import typer

from app import logs
from app.settings import SettingsError
from app.users.demo import ensure_demo_users, with_demo_password
from cli.config import fail, load_settings
from cli.options import LogLevel, Profile, log_level_option, profile_option
from cli.users import open_users_session, require_current_schema


def web(profile: Profile | None = profile_option(), log_level: LogLevel = log_level_option()) -> None:
    """Run the web application (webapp.host:webapp.port, default 127.0.0.1:8080). Stops on Ctrl-C / SIGTERM.

    In the demo profile the demo users are created first (password siaga-demo).
    """
    import uvicorn

    from web.main import create_app

    logs.setup(log_level)
    settings = load_settings(profile)
    try:
        settings.check_webapp()
    except SettingsError as exc:
        fail(exc)
    require_current_schema(settings)
    with open_users_session(settings) as session:
        if settings.demo:
            ensure_demo_users(session)
        else:
            weak = [u.name for u in with_demo_password(session)]
            if weak:
                fail(
                    SettingsError(
                        f"refused outside the demo profile: users {', '.join(weak)} have the demo profile's "
                        "well-known password (disable them with `siaga users disable NAME`)"
                    )
                )
    webapp = settings.webapp
    typer.echo(f"siaga web: http://{webapp.host}:{webapp.port}/ (profile {settings.profile})", err=True)
    uvicorn.run(
        create_app(settings),
        host=webapp.host,
        port=webapp.port,
        log_config=None,  # our logging (app.logs), not uvicorn's
        access_log=False,
        server_header=False,
    )
