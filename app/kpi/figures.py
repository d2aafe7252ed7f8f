"""Response-time KPIs by the definitions of issue 12 (pure: stored times in, figures out; docs/KPI.md).

Principle: the figures are computed from what the case log really stores, one
case at a time, and nothing else. ``StoredTimes`` is one case's stored columns;
``CaseTimes`` the KPI inputs derived from them; ``Tally`` counts cases as they
stream past, keeping only counts (durations in tenths of a second), so memory
does not grow with the number of calls.

How each input is derived from stored fields (who writes them: ``ivr.calls``):

- ``answered_at``: the earliest of the answer times that exist:
  ``taken_at`` (an agent's phone answered a queued caller: ``queueing._agent_answered``),
  ``agency_answered_at`` (the first unit or the fallback group that answered as a forwarding
  candidate, ``connecting._connect``; the first dispatched unit that answered, ``queueing._unit_answered``;
  or the dialplan's fallback route: ``fallback_journal`` writes the end line's time minus ANSWEREDTIME,
  whole seconds from Asterisk, when DIALSTATUS is ANSWER) and the earliest ``attempts.answered_at``
  (every answered forwarding or dispatch attempt; it also covers an ``agency_answered_at`` written
  over later by the journal). None of them: not answered.
- ``time_to_dispatch``: ``dispatched_at`` (an agent dispatched the first unit), else ``forwarded_at``
  (a direct call put through to the route of its IVR answers, or a queued one that went on as direct),
  minus ``received_at``.
- ``agency_answer``: ``agency_answered_at - received_at``.
- The agency key: the ``attempts.agency`` of the first answered attempt (by ``answered_at``, then
  ``seq``); else that of the dispatched unit's first attempt; else ``fallback-route`` when the case has
  an answer by the dialplan's fallback route (``answered_by_unit`` set without an attempt: the journal
  names an endpoint, not a unit); else ``none``. An attempt without an agency counts under ``none``.

A negative duration (the journal's whole seconds against the service's clock) counts as 0 s.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.kpi.models import KpiFigures, KpiReport

NONE = "none"  # the key of cases without a category, district or agency
FALLBACK_ROUTE = "fallback-route"
WITHIN = (timedelta(seconds=15), timedelta(seconds=20))
_TENTH = 100_000  # microseconds


@dataclass(frozen=True)
class StoredTimes:
    """One case's columns as the case log stores them (``app.kpi.service`` reads them)."""

    line: str
    category: str | None
    district: str | None
    disposition: str | None
    received_at: datetime
    taken_at: datetime | None = None
    agency_answered_at: datetime | None = None
    first_attempt_answered_at: datetime | None = None
    forwarded_at: datetime | None = None
    dispatched_at: datetime | None = None
    answered_by_unit: str | None = None
    answered_agency: str | None = None  # of the first answered attempt
    dispatched_agency: str | None = None  # of the dispatched unit's first attempt
    has_answered_attempt: bool = False
    has_dispatched_attempt: bool = False


@dataclass(frozen=True)
class CaseTimes:
    """The KPI inputs of one case."""

    line: str
    category: str
    district: str
    agency: str
    disposition: str | None
    time_to_answer: timedelta | None
    time_to_dispatch: timedelta | None
    agency_answer: timedelta | None


def derive(s: StoredTimes) -> CaseTimes:
    answers = [t for t in (s.taken_at, s.agency_answered_at, s.first_attempt_answered_at) if t is not None]
    dispatch = s.dispatched_at or s.forwarded_at
    return CaseTimes(
        line=s.line,
        category=s.category or NONE,
        district=s.district or NONE,
        agency=_agency(s),
        disposition=s.disposition,
        time_to_answer=_since(s.received_at, min(answers)) if answers else None,
        time_to_dispatch=_since(s.received_at, dispatch) if dispatch else None,
        agency_answer=_since(s.received_at, s.agency_answered_at) if s.agency_answered_at else None,
    )


def _agency(s: StoredTimes) -> str:
    if s.has_answered_attempt:
        return s.answered_agency or NONE
    if s.has_dispatched_attempt:
        return s.dispatched_agency or NONE
    if s.answered_by_unit and s.agency_answered_at:
        return FALLBACK_ROUTE
    return NONE


def _since(start: datetime, end: datetime) -> timedelta:
    return max(end - start, timedelta(0))


@dataclass
class Tally:
    """Counts of one group of cases; durations kept as a count per tenth of a second.

    Nearest-rank percentiles of the rounded values are the rounded percentiles of the exact
    ones (rounding never reorders), so nothing is lost by counting tenths.
    """

    calls: int = 0
    answered: int = 0
    abandoned_in_ivr: int = 0
    within: list[int] = field(default_factory=lambda: [0] * len(WITHIN))
    to_answer: Counter[int] = field(default_factory=Counter)
    to_dispatch: Counter[int] = field(default_factory=Counter)
    agency_answer: Counter[int] = field(default_factory=Counter)

    def add(self, c: CaseTimes) -> None:
        self.calls += 1
        if c.time_to_answer is None:
            self.abandoned_in_ivr += c.disposition == "abandoned-in-ivr"
        else:
            self.answered += 1
            self.to_answer[tenths(c.time_to_answer)] += 1
            for i, limit in enumerate(WITHIN):
                self.within[i] += c.time_to_answer <= limit  # the exact time: 15.05 s is not within 15 s
        if c.time_to_dispatch is not None:
            self.to_dispatch[tenths(c.time_to_dispatch)] += 1
        if c.agency_answer is not None:
            self.agency_answer[tenths(c.agency_answer)] += 1

    def figures(self) -> KpiFigures:
        return KpiFigures(
            calls=self.calls,
            answered=self.answered,
            abandoned=self.calls - self.answered,
            abandoned_in_ivr=self.abandoned_in_ivr,
            answered_within_15s_pct=percent(self.within[0], self.calls),
            answered_within_20s_pct=percent(self.within[1], self.calls),
            time_to_answer_p50_s=seconds(nearest_rank(self.to_answer, 50)),
            time_to_answer_p90_s=seconds(nearest_rank(self.to_answer, 90)),
            time_to_dispatch_p50_s=seconds(nearest_rank(self.to_dispatch, 50)),
            agency_answer_p50_s=seconds(nearest_rank(self.agency_answer, 50)),
        )


def tenths(d: timedelta) -> int:
    """A duration in tenths of a second, rounded half up (0.05 s -> 1)."""
    return (d // timedelta(microseconds=1) + _TENTH // 2) // _TENTH


def seconds(value: int | None) -> float | None:
    return None if value is None else value / 10


def percent(part: int, whole: int) -> float | None:
    """100 x part / whole to one decimal, half up; None when there is no whole."""
    if whole == 0:
        return None
    return (2000 * part + whole) // (2 * whole) / 10


def nearest_rank(counts: Counter[int], p: int) -> int | None:
    """The value at rank ceil(p/100 x n) of the sorted values (counted), None when there are none."""
    n = sum(counts.values())
    if n == 0:
        return None
    rank = -(-p * n // 100) or 1  # ceil(p x n / 100) in integers: no float error at the boundaries
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        if seen >= rank:
            return value
    raise AssertionError("unreachable: the ranks add up to n")


def report(cases: Iterable[StoredTimes], since: datetime, until: datetime, line: str | None = None) -> KpiReport:
    """The figures of all the cases given (the caller chose them: received in [since, until) on ``line``)."""
    total = Tally()
    groups: dict[str, dict[str, Tally]] = {"line": {}, "agency": {}, "category": {}, "district": {}}
    for stored in cases:
        c = derive(stored)
        total.add(c)
        for name, by in groups.items():
            key = getattr(c, name)
            if key not in by:
                by[key] = Tally()
            by[key].add(c)
    return KpiReport(
        since=since,
        until=until,
        line=line,
        **total.figures().model_dump(),
        **{f"by_{name}": {k: t.figures() for k, t in sorted(by.items())} for name, by in groups.items()},
    )
