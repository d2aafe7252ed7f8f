"""When each case row became visible in the database, seen from outside the service.

The service's log says when a case was made durable in its local journal
(what a call waits for); the database row is written behind that by another
thread. To time "case row committed" without changing the service, this
thread polls the cases table every ``interval`` seconds for rows it has not
seen yet and notes the wall-clock time it first saw each: the commit
happened at most one interval (plus one query) before.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import text

from app.db import make_engine


class CaseWatcher:
    def __init__(self, url: str, interval: float = 0.01) -> None:
        self.engine = make_engine(url)
        self.interval = interval
        self.seen: dict[str, float] = {}  # channel id -> first seen (epoch seconds)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="case-watcher", daemon=True)
        with self.engine.connect() as conn:
            self._last = conn.execute(text("SELECT coalesce(max(id), 0) FROM cases")).scalar_one()

    def _run(self) -> None:
        with self.engine.connect() as conn:
            while not self._stop.wait(self.interval):
                rows = conn.execute(
                    text("SELECT id, channel_id FROM cases WHERE id > :last ORDER BY id"), {"last": self._last}
                ).all()
                conn.rollback()  # end the read transaction: the next poll must see new commits
                now = time.time()
                for row_id, channel in rows:
                    self._last = max(self._last, row_id)
                    if channel:
                        self.seen.setdefault(channel, now)

    def __enter__(self) -> CaseWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)
        self.engine.dispose()
