"""GET /api/kpi over real HTTP (TestClient) on a real SQLite case log: the report, its roles, bad ranges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app import db
from app.cases.models import Attempt, Case

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 WITA
RANGE = {"from": "2026-12-01T10:00:00+08:00", "to": "2026-12-01T11:00:00+08:00"}
FIELDS = [
    "calls",
    "answered",
    "abandoned",
    "abandoned_in_ivr",
    "answered_within_15s_pct",
    "answered_within_20s_pct",
    "time_to_answer_p50_s",
    "time_to_answer_p90_s",
    "time_to_dispatch_p50_s",
    "agency_answer_p50_s",
]


def s(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


@pytest.fixture
def history(engine):
    with db.session_factory(engine)() as session:
        # 1 (112): an agent answers at 20 s, dispatches psc-kuta at 50 s, which answers at 65 s.
        taken = Case(ticket="112-261201-00001", line="112", status="ended", received_at=T0, category="medical")
        taken.district, taken.disposition, taken.taken_at = "kuta", "completed", T0 + s(20)
        taken.dispatched_at, taken.dispatched_unit, taken.agency_answered_at = T0 + s(50), "psc-kuta", T0 + s(65)
        session.add(taken)
        session.flush()
        answered = {"answered_at": T0 + s(65), "outcome": "answered"}
        session.add(
            Attempt(case_id=taken.id, seq=1, unit="psc-kuta", agency="psc", dial="x", started_at=T0, **answered)
        )
        # 2 (112): gone while waiting in the queue. 3 (14084): the dialplan's fallback route, answered at 6 s.
        r2, r3 = T0 + s(60), T0 + s(120)
        session.add(
            Case(
                ticket="112-261201-00002", line="112", status="ended", received_at=r2, disposition="abandoned-in-queue"
            )
        )
        fallback = Case(
            ticket="14084-261201-00003", line="14084", status="ended", received_at=r3, disposition="fallback"
        )
        fallback.agency_answered_at, fallback.answered_by_unit = r3 + s(6), "operator-1"
        session.add(fallback)
        # 4: exactly at "to" (11:00 WITA): not counted.
        session.add(Case(ticket="112-261201-00004", line="112", status="ended", received_at=T0 + s(3600)))
        session.commit()


def test_a_supervisor_gets_the_report(client, auth, history):
    response = client.get("/api/kpi", params=RANGE, headers=auth["supervisor"])
    assert response.status_code == 200, response.text
    got = response.json()
    # 3 calls; answered 20 s (agent) and 6 s (fallback route); 1 abandoned, not in the IVR.
    # <= 15 s: 1/3 = 33.3 %; <= 20 s: 2/3 = 66.7 %. p50 of 6, 20: rank 1 -> 6.0; p90: rank 2 -> 20.0.
    # Dispatch: 1 only, 50 s. Agency answer: 65 s (1) and 6 s (3): 6, 65 -> rank 1 -> 6.0.
    assert [got[k] for k in FIELDS] == [3, 2, 1, 0, 33.3, 66.7, 6.0, 20.0, 50.0, 6.0]
    assert (got["from"], got["to"], got["line"]) == ("2026-12-01T02:00:00Z", "2026-12-01T03:00:00Z", None)
    assert sorted(got["by_agency"]) == ["fallback-route", "none", "psc"]
    assert got["by_agency"]["psc"]["time_to_answer_p50_s"] == 20.0  # its agent answered before the unit
    assert set(got["by_line"]["14084"]) == set(FIELDS)


def test_one_line(client, auth, history):
    got = client.get("/api/kpi", params={**RANGE, "line": "112"}, headers=auth["admin"]).json()
    assert (got["calls"], got["answered"], got["abandoned"], list(got["by_line"])) == (2, 1, 1, ["112"])


def test_an_agent_is_refused(client, auth, history):
    assert client.get("/api/kpi", params=RANGE, headers=auth["agent"]).status_code == 403


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"from": RANGE["to"], "to": RANGE["from"]}, "empty or inverted"),
        ({"from": RANGE["from"], "to": RANGE["from"]}, "empty or inverted"),
        ({"from": "0001-01-01T00:00:00+08:00", "to": RANGE["to"]}, "out of range"),
        ({"from": "2026-12-01T10:00:00", "to": RANGE["to"]}, "timezone"),
        ({"from": "yesterday", "to": RANGE["to"]}, "datetime"),
        ({"to": RANGE["to"]}, "Field required"),
        ({**RANGE, "line": "999"}, "pattern"),
    ],
)
def test_a_bad_range_is_422_saying_why(client, auth, params, says):
    response = client.get("/api/kpi", params=params, headers=auth["supervisor"])
    assert response.status_code == 422 and says in response.text, response.text
