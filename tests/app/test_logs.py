"""Service log lines say their zone (WITA), and the bench reads them back to the same instant."""

from __future__ import annotations

import logging
import re

from app import logs
from bench.latency import RECEIVED, log_time


def test_a_log_line_is_badung_time_with_wita_and_the_bench_reads_it_back():
    record = logging.LogRecord("siaga.call", logging.INFO, __file__, 1, "%s received", ("x",), None)
    record.created, record.msecs = 1796491515.701, 701.0  # 2026-12-05 17:25:15.701 UTC
    formatter = logs.RegencyTimeFormatter("%(asctime)s %(levelname)-7s %(name)-14s %(message)s")
    line = formatter.format(record)
    assert line.startswith("2026-12-06 01:25:15.701 WITA INFO    siaga.call")
    stamp = re.match(r"(\S+ \S+) WITA", line).group(1)
    assert abs(log_time(stamp) - record.created) < 0.001


def test_the_bench_finds_the_received_line_the_service_writes():
    line = (
        "2026-12-06 01:25:15.701 WITA INFO    siaga.call     112-261206-00001 received on line 112 from 0812 "
        "(channel 1796491515.0)"
    )
    match = RECEIVED.match(line)
    assert match and match.group(2) == "1796491515.0"


def test_chatty_libraries_are_quiet_at_info():
    logs.setup("INFO")
    assert all(logging.getLogger(name).getEffectiveLevel() == logging.WARNING for name in logs.QUIET)
    assert "alembic" in logs.QUIET  # `make run` printed Alembic's INFO lines
