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
