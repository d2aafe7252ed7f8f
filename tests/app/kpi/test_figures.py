"""The KPI definitions on a hand-made call history; every expected figure is worked out in the comments."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from app.kpi.figures import StoredTimes, Tally, derive, nearest_rank, percent, report, tenths

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 WITA
T1 = T0 + timedelta(hours=1)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def case(received: float, line: str = "112", **fields) -> StoredTimes:
    """A case received ``received`` s after T0; other times given as seconds after its arrival."""
    start = at(received)
    for name, value in list(fields.items()):
        if name.endswith("_at") and value is not None:
            fields[name] = start + timedelta(seconds=value)
    fields.setdefault("category", None)
    fields.setdefault("district", None)
    fields.setdefault("disposition", "completed")
    return StoredTimes(line=line, received_at=start, **fields)


HISTORY = [
    # A: queued, an agent answers at 12 s, dispatches psc-kuta at 40 s, which answers at 52 s.
    #    answered_at = min(12, 52, 52) = 12 s; dispatch 40 s; agency answer 52 s; agency "psc".
    case(
        0,
        category="medical",
        district="kuta",
        taken_at=12,
        dispatched_at=40,
        agency_answered_at=52,
        first_attempt_answered_at=52,
        answered_by_unit="psc-kuta",
        answered_agency="psc",
        dispatched_agency="psc",
        has_answered_attempt=True,
        has_dispatched_attempt=True,
    ),
    # B: direct to a unit: forwarded at 9 s, damkar-kuta answers at 14 s. answered 14 s, dispatch 9 s.
    case(
        60,
        category="fire",
        district="kuta",
        forwarded_at=9,
        agency_answered_at=14,
        first_attempt_answered_at=14,
        answered_by_unit="damkar-kuta",
        answered_agency="damkar",
        has_answered_attempt=True,
    ),
    # C: "operator": forwarded at 8 s to the fallback group (a candidate), an operator answers at 18 s.
    case(
        120,
        category="operator",
        forwarded_at=8,
        agency_answered_at=18,
        first_attempt_answered_at=18,
        answered_by_unit="fallback",
        answered_agency="command-center",
        has_answered_attempt=True,
    ),
    # D: 14084 on the dialplan's fallback route (no attempts): the journal's answer at 25 s.
    case(180, line="14084", disposition="fallback", agency_answered_at=25, answered_by_unit="operator-1"),
    # E: hung up in the IVR.   F: hung up waiting in the queue.
    case(240, disposition="abandoned-in-ivr"),
    case(300, category="medical", district="mengwi", disposition="abandoned-in-queue"),
    # G: an agent answers at exactly 15 s.   H: (14084) at 15.05 s: not within 15 s, shown as 15.1 s.
    case(360, category="medical", district="kuta", taken_at=15),
    case(420, line="14084", category="information", district="kuta", taken_at=15.05),
]


def figures(**overrides):
    empty = {
        "calls": 0,
        "answered": 0,
        "abandoned": 0,
        "abandoned_in_ivr": 0,
        "answered_within_15s_pct": None,
        "answered_within_20s_pct": None,
        "time_to_answer_p50_s": None,
        "time_to_answer_p90_s": None,
        "time_to_dispatch_p50_s": None,
        "agency_answer_p50_s": None,
    }
    return {**empty, **overrides}


def test_the_whole_history():
    got = report(HISTORY, T0, T1).model_dump(by_alias=True)
    # 8 calls; answered A B C D G H = 6; abandoned E F = 2, of which E in the IVR.
    # Times to answer, sorted: 12, 14, 15, 15.05, 18, 25.
    # <= 15 s: 12, 14, 15 -> 3/8 = 37.5 %.  <= 20 s: also 15.05 and 18 -> 5/8 = 62.5 %.
    # p50: rank ceil(0.5 x 6) = 3 -> 15.0.  p90: rank ceil(0.9 x 6) = ceil(5.4) = 6 -> 25.0.
    # Dispatch (A 40 dispatched, B 9 and C 8 forwarded): 8, 9, 40; rank ceil(1.5) = 2 -> 9.0.
    # Agency answer (A 52, B 14, C 18, D 25): 14, 18, 25, 52; rank ceil(2) = 2 -> 18.0.
    assert {k: v for k, v in got.items() if not k.startswith("by_")} == {
        "from": T0,
        "to": T1,
        "line": None,
        **figures(
            calls=8,
            answered=6,
            abandoned=2,
            abandoned_in_ivr=1,
            answered_within_15s_pct=37.5,
            answered_within_20s_pct=62.5,
            time_to_answer_p50_s=15.0,
            time_to_answer_p90_s=25.0,
            time_to_dispatch_p50_s=9.0,
            agency_answer_p50_s=18.0,
        ),
    }


def test_by_line():
    by_line = report(HISTORY, T0, T1).model_dump()["by_line"]
    # 112: A B C E F G; answered A 12, B 14, C 18, G 15 -> sorted 12, 14, 15, 18.
    # <= 15 s: 3/6 = 50.0 %; <= 20 s: 4/6 = 66.67 -> 66.7 %. p50 rank 2 -> 14.0; p90 rank ceil(3.6) = 4 -> 18.0.
    # Dispatch 8, 9, 40 -> 9.0; agency 14, 18, 52 -> rank 2 -> 18.0.
    assert by_line["112"] == figures(
        calls=6,
        answered=4,
        abandoned=2,
        abandoned_in_ivr=1,
        answered_within_15s_pct=50.0,
        answered_within_20s_pct=66.7,
        time_to_answer_p50_s=14.0,
        time_to_answer_p90_s=18.0,
        time_to_dispatch_p50_s=9.0,
        agency_answer_p50_s=18.0,
    )
    # 14084: D 25, H 15.05. <= 15 s: 0/2; <= 20 s: H, 1/2 = 50 %. p50 rank 1 -> 15.1; p90 rank ceil(1.8) = 2 -> 25.0.
    # No dispatch or forwarding; agency answer: D 25.
    assert by_line["14084"] == figures(
        calls=2,
        answered=2,
        answered_within_15s_pct=0.0,
        answered_within_20s_pct=50.0,
        time_to_answer_p50_s=15.1,
        time_to_answer_p90_s=25.0,
        agency_answer_p50_s=25.0,
    )


def test_by_agency_of_the_answering_unit_else_the_fallback_route_else_none():
    by_agency = report(HISTORY, T0, T1).model_dump()["by_agency"]
    assert sorted(by_agency) == ["command-center", "damkar", "fallback-route", "none", "psc"]
    assert by_agency["psc"]["time_to_answer_p50_s"] == 12.0  # A: its agent answered first
    assert by_agency["fallback-route"]["calls"] == 1 and by_agency["fallback-route"]["answered"] == 1  # D
    # none: E F G H. Answered G 15, H 15.05; <= 15 s: 1/4 = 25 %, <= 20 s: 2/4 = 50 %; p50 rank 1 -> 15.0.
    assert by_agency["none"] == figures(
        calls=4,
        answered=2,
        abandoned=2,
        abandoned_in_ivr=1,
        answered_within_15s_pct=25.0,
        answered_within_20s_pct=50.0,
        time_to_answer_p50_s=15.0,
        time_to_answer_p90_s=15.1,
    )


def test_by_category_and_district_put_cases_without_one_under_none():
    got = report(HISTORY, T0, T1).model_dump()
    assert {k: v["calls"] for k, v in got["by_category"].items()} == {
        "fire": 1,
        "information": 1,
        "medical": 3,  # A F G
        "none": 2,  # D E
        "operator": 1,
    }
    assert {k: v["calls"] for k, v in got["by_district"].items()} == {"kuta": 4, "mengwi": 1, "none": 3}


def test_an_empty_population_has_no_percentages_and_no_percentiles():
    got = report([], T0, T1).model_dump()
    assert {k: v for k, v in got.items() if k not in {"since", "until", "line"}} == {
        **figures(),
        "by_line": {},
        "by_agency": {},
        "by_category": {},
        "by_district": {},
    }


def test_exactly_15_s_is_within_15_s_and_15_05_s_is_not():
    # G alone: 1/1 within 15 s. H alone: 0/1 within 15 s, 1/1 within 20 s; 15.05 s rounds half up to 15.1.
    g, h = report([HISTORY[6]], T0, T1), report([HISTORY[7]], T0, T1)
    assert (g.answered_within_15s_pct, g.time_to_answer_p50_s) == (100.0, 15.0)
    assert (h.answered_within_15s_pct, h.answered_within_20s_pct, h.time_to_answer_p50_s) == (0.0, 100.0, 15.1)


def test_answered_at_is_the_earliest_answer_stored():
    # An agent took it at 30 s, then dropped; the fallback route's operator answered at 70 s (journal).
    # An attempt answered at 20 s whose agency_answered_at the journal wrote over (70 s): 20 s wins.
    assert derive(case(0, taken_at=30, agency_answered_at=70)).time_to_answer == timedelta(seconds=30)
    stored = case(0, agency_answered_at=70, first_attempt_answered_at=20, has_answered_attempt=True)
    assert derive(stored).time_to_answer == timedelta(seconds=20)


def test_a_journal_answer_before_the_arrival_counts_as_0_s():
    # The journal's times are whole seconds: an answer 0.4 s "before" the case's arrival.
    assert derive(case(0, agency_answered_at=-0.4)).time_to_answer == timedelta(0)


def test_the_agency_of_a_dispatched_unit_that_did_not_answer():
    stored = case(0, taken_at=5, dispatched_at=20, dispatched_agency="polri", has_dispatched_attempt=True)
    assert derive(stored).agency == "polri"
    # An attempt without an agency (a directory without a command-center agency): "none".
    assert derive(case(0, agency_answered_at=9, has_answered_attempt=True)).agency == "none"


@pytest.mark.parametrize(
    ("values", "p50", "p90"),
    [
        ([7], 7, 7),  # n=1: ranks ceil(0.5) = ceil(0.9) = 1
        ([2, 1], 1, 2),  # n=2: ranks ceil(1) = 1 and ceil(1.8) = 2
        ([3, 1, 2], 2, 3),  # n=3: ranks ceil(1.5) = 2 and ceil(2.7) = 3
        (list(range(10, 0, -1)), 5, 9),  # n=10: ranks 5 and 9
        ([4, 4, 1], 4, 4),  # duplicates count one each: 1, 4, 4 -> ranks 2 and 3
    ],
)
def test_nearest_rank_percentiles(values, p50, p90):
    counts = Counter(values)
    assert (nearest_rank(counts, 50), nearest_rank(counts, 90)) == (p50, p90)


def test_no_values_have_no_percentile():
    assert nearest_rank(Counter(), 50) is None


def test_rounding_is_to_one_decimal_half_up():
    assert tenths(timedelta(seconds=0.05)) == 1 and tenths(timedelta(seconds=0.0499)) == 0
    assert percent(2, 3) == 66.7 and percent(1, 16) == 6.3 and percent(1, 8) == 12.5  # 6.25 -> 6.3
    assert percent(0, 0) is None


def test_a_tally_keeps_counts_not_one_value_per_call():
    tally = Tally()
    for i in range(10_000):  # answered at 10.00 s to 10.99 s: eleven tenths of a second (10.0 .. 11.0)
        tally.add(derive(case(0, taken_at=10 + (i % 100) / 100)))
    assert tally.calls == 10_000 and len(tally.to_answer) == 11
    # Each hundredth 100 times. 10.00-10.04 round to 10.0 (500 calls), each next tenth has 1000:
    # cumulative 500, 1500, 2500, 3500, 4500, 5500 at 10.5, so rank ceil(0.5 x 10,000) = 5000 is 10.5.
    assert tally.figures().time_to_answer_p50_s == 10.5
