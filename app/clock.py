"""Time, always timezone-aware.

Everything stored and compared is UTC. The regency's own time zone (WITA,
UTC+8, no daylight saving) is only for what people read: the date in a
ticket number is the date a call-taker in Bali would say.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

REGENCY_TZ = timezone(timedelta(hours=8), "WITA")


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """The same instant in UTC; a naive datetime is refused, it is almost always a bug."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} (timestamps must carry a time zone)")
    return value.astimezone(UTC)


def regency_date(value: datetime) -> date:
    """The calendar date in Badung at that instant."""
    return as_utc(value).astimezone(REGENCY_TZ).date()


def local_text(value: datetime | str | None, *, date: bool = True) -> str:
    """What a person reads: Badung time with its zone, ``2026-12-04 21:50:52 WITA`` ("" for nothing).

    ``date=False`` gives ``21:50:52 WITA`` (in a table whose date is said above it).
    """
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    local = as_utc(value).astimezone(REGENCY_TZ)
    return local.strftime("%Y-%m-%d %H:%M:%S WITA" if date else "%H:%M:%S WITA")


def utc_text(value: datetime | None) -> str | None:
    """What a program reads (every JSON output): UTC, ISO 8601 with ``Z``, ``2026-12-04T13:50:52.123456Z``."""
    if value is None:
        return None
    return as_utc(value).isoformat().replace("+00:00", "Z")
