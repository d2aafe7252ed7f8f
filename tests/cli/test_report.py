"""``siaga report kpi`` through the installed entry point, against a SQLite case log with a known history."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app import db
from app.cases.models import Attempt, Case

SIAGA = Path(sys.executable).parent / "siaga"
T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 WITA
RANGE = ["--from", "2026-12-01T10:00+08:00", "--to", "2026-12-01T11:00+08:00"]


def s(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('report') / 'siaga.db'}"
    db.migrate(url)
    engine = db.make_engine(url)
    with db.session_factory(engine)() as session:
        # 1 (112, direct): forwarded at 9 s, damkar-kuta answers at 14 s.
        direct = Case(ticket="112-261201-00001", line="112", status="ended", received_at=T0, category="fire")
        direct.disposition, direct.forwarded_at, direct.agency_answered_at = "completed", T0 + s(9), T0 + s(14)
        session.add(direct)
        session.flush()
        answered = {"answered_at": T0 + s(14), "outcome": "answered"}
        session.add(
            Attempt(case_id=direct.id, seq=1, unit="damkar-kuta", agency="damkar", dial="x", started_at=T0, **answered)
        )
        # 2 (112): gone in the IVR. 3 (14084): an agent answers at 15.05 s. 4: at 11:00 WITA, outside the range.
        session.add(
            Case(
                ticket="112-261201-00002",
                line="112",
                status="ended",
                received_at=T0 + s(60),
                disposition="abandoned-in-ivr",
            )
        )
        session.add(
            Case(
                ticket="14084-261201-00003",
                line="14084",
                status="ended",
                received_at=T0 + s(120),
                taken_at=T0 + s(135.05),
            )
        )
        session.add(
            Case(ticket="112-261201-00004", line="112", status="ended", received_at=T0 + s(3600), taken_at=T0 + s(3601))
        )
        session.commit()
    engine.dispose()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SIAGA_") and k != "DATABASE_URL"}
    return {**clean, "DATABASE_URL": url, "COLUMNS": "80"}


def siaga(env, *argv: str) -> subprocess.CompletedProcess:
    done = subprocess.run([str(SIAGA), *argv], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return done


def test_json_report(env):
    got = json.loads(siaga(env, "report", "kpi", *RANGE, "--json").stdout)
    # 3 calls; answered 14 s and 15.05 s. <= 15 s: 1/3 = 33.3 %; <= 20 s: 2/3 = 66.7 %.
    # p50 of 14, 15.05: rank 1 -> 14.0; p90: rank ceil(1.8) = 2 -> 15.1. Dispatch 9 s; agency answer 14 s.
    overall = {
        "calls": 3,
        "answered": 2,
        "abandoned": 1,
        "abandoned_in_ivr": 1,
        "answered_within_15s_pct": 33.3,
        "answered_within_20s_pct": 66.7,
        "time_to_answer_p50_s": 14.0,
        "time_to_answer_p90_s": 15.1,
        "time_to_dispatch_p50_s": 9.0,
        "agency_answer_p50_s": 14.0,
    }
    assert {k: got[k] for k in overall} == overall
    assert (got["from"], got["to"], got["line"]) == ("2026-12-01T02:00:00Z", "2026-12-01T03:00:00Z", None)
    assert sorted(got["by_line"]) == ["112", "14084"] and sorted(got["by_agency"]) == ["damkar", "none"]
    assert got["by_category"]["fire"]["answered_within_15s_pct"] == 100.0
    assert got["by_district"]["none"]["calls"] == 3


def test_one_line(env):
    got = json.loads(siaga(env, "report", "kpi", *RANGE, "--line", "14084", "--json").stdout)
    assert (got["calls"], got["answered_within_15s_pct"], got["answered_within_20s_pct"]) == (1, 0.0, 100.0)
    assert list(got["by_line"]) == ["14084"] and got["line"] == "14084"


def test_the_table_fits_80_columns_and_says_the_range_in_wita(env):
    out = siaga(env, "report", "kpi", *RANGE).stdout
    lines = out.splitlines()
    assert lines[:2] == [
        "Response-time KPIs, both lines",
        "Calls received from 2026-12-01 10:00:00 WITA to 2026-12-01 11:00:00 WITA",
    ]
    assert max(len(line) for line in lines) <= 80
    assert any(
        line.split() == ["all", "3", "2", "1", "1", "33.3", "66.7", "14.0", "15.1", "9.0", "14.0"] for line in lines
    )
    assert any(line.split()[:2] == ["damkar", "1"] for line in lines)
