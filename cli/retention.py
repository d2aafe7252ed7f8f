"""``siaga retention run``: remove caller data past its retention period (``retention.*`` settings).

Order: rotate Asterisk's logs (so today's lines age from now), list what is past
its period, remove it with a progress bar (each filed recording's case marked
first), then one audit entry. ``--dry-run`` only lists.
"""

from __future__ import annotations

import fcntl
import time
from collections import Counter
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from app.retention.plan import KINDS, Item
from cli.config import load_settings
from cli.options import group

if TYPE_CHECKING:
    from sqlalchemy import Engine

app = group()
console = Console(soft_wrap=True)


@app.command()
def run(
    dry_run: bool = typer.Option(False, "--dry-run", help="List what would be removed; change nothing."),
    rotate: bool = typer.Option(True, help="Rotate Asterisk's logs first (skipped in a dry run)."),
) -> None:
    """Remove caller data past its period, with an audit entry.

    Recordings older than retention.recordings_days; rotated Asterisk logs, fallback journals the call
    service has read, and rejected journal entries older than retention.logs_days.
    """
    from app.retention.places import places
    from app.retention.plan import plan

    settings = load_settings()
    keep, where = settings.retention, places(settings)
    where.journal_dir.mkdir(parents=True, exist_ok=True)
    with open(where.journal_dir / "retention.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            typer.secho("siaga: another retention run is going on", fg="red", err=True)
            raise typer.Exit(1) from None
        rotated = _rotate(settings) if rotate and not dry_run else []
        now = time.time()
        items = plan(where, keep, now)
        console.print(
            f"retention: recordings older than {keep.recordings_days} days, logs and journals older than "
            f"{keep.logs_days} days: {len(items)} to remove ({_mb(sum(i.size for i in items if not i.entries))})"
        )
        if dry_run:
            _list(items)
            return
        _purge(settings, items, now - keep.logs_days * 86400.0, rotated)


def _rotate(settings) -> list[str]:
    from app.asterisk import AsteriskError
    from app.retention.rotate import NotRotated, rotate_logs
    from cli.logs import instance_of

    try:
        made = [p.name for p in rotate_logs(instance_of(settings), settings.journal_dir)]
    except (NotRotated, AsteriskError, OSError) as exc:
        console.print(f"[yellow]logs not rotated: {exc}[/]")
        return []
    console.print(f"rotated: {', '.join(made) or '(no files)'}")
    return made


def _purge(settings, items: list[Item], logs_before: float, rotated: list[str]) -> None:
    from app.retention.purge import purge
    from cli.audit import note

    url = settings.database.url
    with _marker(url, settings.retention.recordings_days) as mark:
        with Progress(console=console, transient=not console.is_terminal) as progress:
            task = progress.add_task("removing", total=len(items))
            out = purge(items, mark=mark, logs_before=logs_before, advance=lambda: progress.advance(task))
    for item, why in out.kept:
        console.print(f"[yellow]kept {item.path}: {why}[/]", highlight=False)
    detail = {
        "recordings_days": settings.retention.recordings_days,
        "logs_days": settings.retention.logs_days,
        "removed": dict(out.removed),
        "entries": out.entries,
        "bytes": out.bytes,
        "cases_marked": out.marked,
        "kept": len(out.kept),
        "rotated": rotated,
    }
    note(url, "retention.run", str(settings.recordings_dir.resolve()), detail)
    summary = ", ".join(f"{n} {kind}" for kind, n in sorted(out.removed.items())) or "nothing"
    console.print(f"removed {summary} ({_mb(out.bytes)}); {out.marked} cases marked; {len(out.kept)} kept")
    if out.kept:
        raise typer.Exit(1)


class _marker:
    """A ``Marker`` on the database, or None (and a warning) when it cannot be opened."""

    def __init__(self, url: str, days: int) -> None:
        self.url, self.days = url, days
        self.engine: Engine | None = None

    def __enter__(self):
        from app import db
        from app.cases.service import mark_recording_purged

        try:
            self.engine = engine = db.make_engine(self.url)
            if not db.has_schema(engine):
                raise RuntimeError("no schema")
        except Exception as exc:
            console.print(f"[yellow]database {db.describe(self.url)} not usable ({exc}): filed recordings kept[/]")
            return None
        sessions = db.session_factory(engine)
        detail = {"by": "retention", "days": self.days}

        def mark(ticket: str, name: str) -> bool:
            with sessions() as session:
                return mark_recording_purged(session, ticket, name, detail)

        return mark

    def __exit__(self, *exc) -> None:
        if self.engine is not None:
            self.engine.dispose()


def _list(items: list[Item]) -> None:
    table = Table("What", "File", "Size", "Last written")
    for item in items:
        what = f"{item.kind} ({item.entries} entries)" if item.entries else item.kind
        written = time.strftime("%Y-%m-%d %H:%M", time.localtime(item.modified))
        table.add_row(what, str(item.path), _mb(item.size), written)
    console.print(table if items else "nothing is past its retention period")
    counts = Counter(i.kind for i in items)
    if items:
        console.print(", ".join(f"{counts[k]} {k}" for k in KINDS if counts[k]))


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"
