"""The KPI query on SQLite and PostgreSQL: which cases it counts, and the stored times it reads for each."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from app.cases.models import Attempt, Case
from app.clock import REGENCY_TZ
from app.kpi.figures import StoredTimes
from app.kpi.service import BadRange, checked_range, kpi_report, stored_times

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 WITA
T1 = T0 + timedelta(hours=1)


def s(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


def add(session, n: int, received: datetime, attempts=(), line: str = "112", **fields) -> None:
    case = Case(ticket=f"{line}-261201-{n:05d}", line=line, status="ended", received_at=received, **fields)
    session.add(case)
    session.flush()
    for seq, attempt in enumerate(attempts, 1):
        session.add(Attempt(case_id=case.id, seq=seq, dial=f"PJSIP/{attempt['unit']}", started_at=received, **attempt))
    session.commit()


@pytest.fixture
def history(session):
    # 1: direct; psc-kuta tried first (no answer), damkar-kuta answers at 14 s. At exactly T0: counted.
    add(
        session,
        1,
        T0,
        [
            {"unit": "psc-kuta", "agency": "psc", "outcome": "no-answer"},
            {"unit": "damkar-kuta", "agency": "damkar", "outcome": "answered", "answered_at": T0 + s(14)},
        ],
        category="fire",
        district="kuta",
        disposition="completed",
        forwarded_at=T0 + s(9),
        agency_answered_at=T0 + s(14),
        answered_by_unit="damkar-kuta",
    )
    # 2: an agent at 12 s dispatches polri-kuta at 30 s (no answer), then psc-kuta (answers at 52 s).
    r2 = T0 + s(60)
    add(
        session,
        2,
        r2,
        [
            {"unit": "polri-kuta", "agency": "polri", "outcome": "no-answer"},
            {"unit": "psc-kuta", "agency": "psc", "outcome": "answered", "answered_at": r2 + s(52)},
        ],
        category="medical",
        district="kuta",
        disposition="completed",
        taken_at=r2 + s(12),
        dispatched_at=r2 + s(30),
        dispatched_unit="polri-kuta",
        agency_answered_at=r2 + s(52),
        answered_by_unit="psc-kuta",
    )
    # 3: 14084 on the dialplan's fallback route, answered (journal) at 25 s. 4: hung up in the IVR.
    add(
        session,
        3,
        T0 + s(120),
        line="14084",
        disposition="fallback",
        agency_answered_at=T0 + s(145),
        answered_by_unit="operator-1",
    )
    add(session, 4, T0 + s(180), disposition="abandoned-in-ivr")
    # Outside [T0, T1): a microsecond before T0, and exactly T1.
    add(session, 5, T0 - timedelta(microseconds=1), taken_at=T0 + s(1))
    add(session, 6, T1, taken_at=T1 + s(1))


def test_reads_the_stored_times_of_the_cases_received_in_from_to(session, history):
    got = sorted(stored_times(session, T0, T1), key=lambda c: c.received_at)
    assert got == [
        StoredTimes(
            line="112",
            category="fire",
            district="kuta",
            disposition="completed",
            received_at=T0,
            agency_answered_at=T0 + s(14),
            first_attempt_answered_at=T0 + s(14),
            forwarded_at=T0 + s(9),
            answered_by_unit="damkar-kuta",
            answered_agency="damkar",
            has_answered_attempt=True,
        ),
        StoredTimes(
            line="112",
            category="medical",
            district="kuta",
            disposition="completed",
            received_at=T0 + s(60),
            taken_at=T0 + s(72),
            agency_answered_at=T0 + s(112),
            first_attempt_answered_at=T0 + s(112),
            dispatched_at=T0 + s(90),
            answered_by_unit="psc-kuta",
            answered_agency="psc",  # the unit that answered, not polri-kuta, dispatched first
            dispatched_agency="polri",
            has_answered_attempt=True,
            has_dispatched_attempt=True,
        ),
        StoredTimes(
            line="14084",
            category=None,
            district=None,
            disposition="fallback",
            received_at=T0 + s(120),
            agency_answered_at=T0 + s(145),
            answered_by_unit="operator-1",
        ),
        StoredTimes(
            line="112",
            category=None,
            district=None,
            disposition="abandoned-in-ivr",
            received_at=T0 + s(180),
        ),
    ]


def test_the_report_from_the_database(session, history):
    got = kpi_report(session, T0, T1)
    # Answered 1 (14 s), 2 (12 s), 3 (25 s); 4 abandoned in the IVR. <= 15 s: 2/4 = 50 %; <= 20 s: the same.
    # p50 of 12, 14, 25: rank 2 -> 14.0; p90: rank ceil(2.7) = 3 -> 25.0.
    # Dispatch: 1 forwarded 9 s, 2 dispatched 30 s -> rank 1 -> 9.0. Agency: 14, 52, 25 -> 14, 25, 52 -> 25.0.
    assert (got.calls, got.answered, got.abandoned, got.abandoned_in_ivr) == (4, 3, 1, 1)
    assert (got.answered_within_15s_pct, got.answered_within_20s_pct) == (50.0, 50.0)
    assert (got.time_to_answer_p50_s, got.time_to_answer_p90_s) == (14.0, 25.0)
    assert (got.time_to_dispatch_p50_s, got.agency_answer_p50_s) == (9.0, 25.0)
    assert sorted(got.by_agency) == ["damkar", "fallback-route", "none", "psc"]
    assert got.since == T0 and got.until == T1 and got.line is None


def test_one_line(session, history):
    got = kpi_report(session, T0, T1, line="14084")
    assert (got.calls, got.answered, got.time_to_answer_p50_s, got.line) == (1, 1, 25.0, "14084")
    assert list(got.by_line) == ["14084"]


def test_a_range_in_another_zone_is_the_same_instants(session, history):
    got = kpi_report(session, T0.astimezone(REGENCY_TZ), T1.astimezone(REGENCY_TZ))  # 10:00 to 11:00 WITA
    assert got.calls == 4 and got.since == T0 and got.since.utcoffset() == timedelta(0)


def test_an_empty_population(session, history):
    got = kpi_report(session, T1 + s(60), T1 + s(120))
    assert (got.calls, got.answered_within_15s_pct, got.time_to_answer_p50_s, got.by_line) == (0, None, None, {})


@pytest.mark.parametrize(
    ("since", "until", "says"),
    [
        (T1, T0, "empty or inverted"),
        (T0, T0, "empty or inverted"),
        (T0.replace(tzinfo=None), T1, "from 2026-12-01T02:00:00 has no time zone"),
        (datetime.min.replace(tzinfo=REGENCY_TZ), T1, "from 0001-01-01T00:00:00+08:00 is out of range"),
        (datetime.min.replace(tzinfo=UTC) + timedelta(hours=1), T1, None),
    ],
)
def test_bad_ranges(since, until, says):
    if says is None:  # far in the past, but a real instant: accepted
        assert checked_range(since, until)[0] == since
        return
    with pytest.raises(BadRange, match=re.escape(says)):
        checked_range(since, until)
