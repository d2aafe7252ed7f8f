"""The bench's paths: the numbers their callers dial, and the dialplan behind them."""

from __future__ import annotations

import pytest
import typer

from bench.cli import _paths
from bench.dialplan import bench_dialplan
from bench.steps import PATHS


def test_the_recording_baseline_records_from_the_arrival_then_runs_the_same_menu():
    lines = bench_dialplan().splitlines()
    start = lines.index(
        f"exten => {PATHS['baseline-rec']},1,"
        "MixMonitor(${ASTSPOOLDIR}/recording/bench-baseline-${REPLACE(UNIQUEID,.,-)}.wav)"
    )
    assert lines[start + 1] == " same => n,Goto(siaga-bench-baseline,s,1)"
    assert f"exten => {PATHS['baseline']},1,Goto(siaga-bench-baseline,s,1)" in lines


def test_paths_are_checked_before_anything_starts():
    assert _paths("siaga, baseline-rec") == ("siaga", "baseline-rec")
    with pytest.raises(typer.BadParameter, match="unknown path basline; choose from siaga, baseline, baseline-rec"):
        _paths("siaga,basline")
    with pytest.raises(typer.BadParameter, match="none given"):
        _paths(" , ")
