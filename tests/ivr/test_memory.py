"""Free memory of the C allocator goes back to the system (glibc's malloc_trim), once a minute in the service."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import textwrap

from ivr import memory


def test_free_heap_memory_left_between_live_buffers_is_given_back():
    # What a call does to glibc's heap: big buffers freed, small ones kept between them. Freed,
    # the big ones stay in the process (their pages are not at the heap's top); a trim returns them.
    # In a fresh interpreter, so that nothing else of the test run is in its heap.
    script = textwrap.dedent("""
        from pathlib import Path
        from ivr import memory
        def rss(): return int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 2**20
        kept, big = [], []
        for _ in range(1500):
            big.append(bytearray(100_000))
            kept.append(bytearray(600))
        del big
        freed = rss()
        assert memory.release_free_memory() is True
        print(freed, rss())
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60)
    freed, trimmed = map(float, out.stdout.split())
    assert freed > 140 and trimmed < freed - 100  # MiB: ~150 MB of freed buffers went back


async def test_the_service_loop_trims_now_and_then_and_stops_at_once(monkeypatch):
    calls = []
    monkeypatch.setattr(memory, "_trim", lambda pad: calls.append(pad) or 1)
    stop = asyncio.Event()
    task = asyncio.create_task(memory.keep_releasing(stop, every=0.01))
    await asyncio.sleep(0.1)
    stop.set()
    await asyncio.wait_for(task, 1)
    assert len(calls) >= 3 and set(calls) == {0}


async def test_without_malloc_trim_nothing_is_done(monkeypatch, caplog):
    monkeypatch.setattr(memory, "_trim", None)
    caplog.set_level(logging.INFO, "siaga.memory")
    assert memory.release_free_memory() is None
    await asyncio.wait_for(memory.keep_releasing(asyncio.Event(), every=0.01), 1)  # returns at once
    assert "no malloc_trim" in caplog.text
