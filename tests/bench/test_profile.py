"""The bench's py-spy summary: shares per thread, per function (self) and with callees."""

from __future__ import annotations

from bench.profile import summarise


def test_the_summary_names_threads_and_counts_self_and_inclusive_time(tmp_path):
    raw = tmp_path / "service-profile.txt"
    raw.write_text(
        "thread (101): MainThread;run (a.py:1);handle (b.py:2);write (c.py:3) 6\n"
        "thread (101): MainThread;run (a.py:1);select (d.py:4) 2\n"
        "thread (102): case-journal;loop (e.py:5);fsync (f.py:6) 2\n"
    )
    summary = summarise(raw)
    assert summary["samples"] == [("total", 10)]
    assert summary["threads"] == [("MainThread", 80.0), ("case-journal", 20.0)]
    assert summary["self"][0] == ("write (c.py:3)", 60.0)
    assert dict(summary["inclusive"])["run (a.py:1)"] == 80.0
