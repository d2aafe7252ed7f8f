"""Memory of the call path alone, in one process: is it flat over many calls?

Many calls through the real ``CallFlow``, ``CaseStore`` (journal, applier thread,
SQLite in a temporary folder) and ``LivePublisher`` (the Redis at ``SIAGA_BENCH_REDIS``,
default ``redis://127.0.0.1:6379/15``), with the fake telephony port of the unit
tests, as fast as they go. Prints the process RSS every ``step`` calls, before and
after ``malloc_trim`` (what glibc gives back). Used to tell a leak in the call path
from growth elsewhere in the service (docs/PERFORMANCE.md, round 3 soak).

    .venv/bin/python -m bench.memory 16000 2000
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import os
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from app import db, paths
from app.directory.loader import load_directory
from app.live.publisher import LivePublisher
from bench.outage import one_call, rss_mib
from ivr.calls import ticketbook
from ivr.calls.casestore import CaseStore
from ivr.engine.menus import load_menus

ticketbook.KEEP_ENDED = timedelta(seconds=2)  # as in production the index forgets ended calls (10 min there)

libc = ctypes.CDLL("libc.so.6")


async def main(total: int, step: int) -> None:
    tmp = Path(tempfile.mkdtemp())
    db.migrate(f"sqlite:///{tmp / 's.db'}")
    engine = db.make_engine(f"sqlite:///{tmp / 's.db'}")
    store = CaseStore(db.session_factory(engine), tmp / "journal")
    pub = LivePublisher(os.environ.get("SIAGA_BENCH_REDIS", "redis://127.0.0.1:6379/15"))
    task = asyncio.create_task(pub.run())
    menus, directory = load_menus(), load_directory(paths.DEMO_DIRECTORY)
    t0 = time.time()
    for n in range(total):
        await one_call(n, store, menus, directory, tmp / "rec", notify=pub.publish)
        if n % 200 == 0:
            for p in (tmp / "rec").glob("*.wav"):
                p.unlink()
        if n and n % step == 0:
            store.settle(30)
            gc.collect()
            before = rss_mib()
            libc.malloc_trim(0)
            print(
                f"{n} calls: rss {before:.1f} MiB, after malloc_trim {rss_mib():.1f} MiB, {time.time() - t0:.0f}s",
                flush=True,
            )
    store.settle(30)
    pub.stop()
    await task
    store.close()
    engine.dispose()
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m bench.memory CALLS STEP   (e.g. 16000 2000)")
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
