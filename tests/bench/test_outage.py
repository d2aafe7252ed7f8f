"""A 10,000-call database outage (bench/outage.py): the case store's memory stays flat, the backlog drains in order.

In a fresh interpreter, so that its RSS is the store's and nothing else of the test run. The bench itself
checks that every case reached PostgreSQL once, complete, in the order the calls were opened. Before the
backlog lived on disk the same run grew by 144 MiB between 1,000 and 10,000 calls.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.parts import need
from tests.support.postgres import private_postgres_available

pytestmark = pytest.mark.postgres

GROWTH_MIB = 8.0  # from 1,000 to 10,000 calls; measured: under 1 MiB (the bench's own list of tickets)


def test_ten_thousand_calls_during_an_outage_do_not_grow_the_store_and_drain_in_order(tmp_path):
    need(private_postgres_available(), "PostgreSQL server binaries (initdb, pg_ctl) and root to run them as postgres")
    out = tmp_path / "outage.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench.outage", "--calls", "10000", "--step", "1000", "--no-tracemalloc", "--out", out],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]  # drained, complete, in order
    result = json.loads(out.read_text())
    rss = {s["calls"]: s["rss_mib"] for s in result["samples"]}
    assert result["backlog"] == 10_000 * 19  # every write of every call waited on disk
    assert rss[10_000] - rss[1_000] < GROWTH_MIB, rss
