"""``siaga logs rotate``: rotate the Asterisk instance's log files (messages, the fallback journal)."""

from __future__ import annotations

import typer

from cli.config import load_settings
from cli.options import group

app = group()


def instance_of(settings):
    """The configured Asterisk instance (``asterisk.instance``), to run CLI commands on."""
    from app.asterisk import AsteriskInstance
    from cli.provision import load_directory_of

    return AsteriskInstance(settings, load_directory_of(settings), name=settings.asterisk.instance)


@app.command()
def rotate(
    above_mb: float = typer.Option(0, "--above-mb", min=0, help="Only if a log file has reached this many MB."),
) -> None:
    """Close each log file as <name>.<epoch> and start a new one (Asterisk's `logger rotate`).

    Refused while the call service has not read the fallback journal rotated last.
    `siaga retention run` rotates first; `siaga logs rotate --above-mb 50` hourly keeps files small.
    """
    from app.asterisk import AsteriskError
    from app.retention.rotate import NotRotated, SmallEnough, rotate_logs

    settings = load_settings()
    try:
        made = rotate_logs(instance_of(settings), settings.journal_dir, above_bytes=int(above_mb * 1_000_000))
    except NotRotated as exc:
        typer.echo(f"not rotated: {exc}")
        raise typer.Exit(0 if isinstance(exc, SmallEnough) else 1) from None
    except (AsteriskError, OSError) as exc:
        typer.secho(f"siaga: {exc}", fg="red", err=True)
        raise typer.Exit(2) from None
    typer.echo("rotated: " + (", ".join(p.name for p in made) or "(no files)"))
