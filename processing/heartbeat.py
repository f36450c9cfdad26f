"""One heartbeat thread per worker process touches every stage that process is running, every
PIPELINE_HEARTBEAT_SECONDS, so the watchdog can tell a long job from a dead worker. One long-lived
thread (not one per task) keeps the per-stage cost to two dictionary operations."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection

from processing.state import stage_heartbeat

logger = logging.getLogger(__name__)


class Heartbeats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[tuple[int, str], str] = {}
        self._thread: threading.Thread | None = None
        self._pid = 0

    @contextmanager
    def beating(self, upload_id: int, stage: str, owner: str) -> Iterator[None]:
        key = (upload_id, stage)
        with self._lock:
            self._running[key] = owner
            if self._thread is None or not self._thread.is_alive() or self._pid != os.getpid():
                # Threads do not survive fork: each pool process starts its own on first use.
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._loop, name="stage-heartbeats", daemon=True)
                self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                self._running.pop(key, None)

    def _loop(self) -> None:
        while True:
            time.sleep(settings.PIPELINE_HEARTBEAT_SECONDS)
            with self._lock:
                running = list(self._running.items())
            for (upload_id, stage), owner in running:
                try:
                    stage_heartbeat(upload_id, stage, owner=owner)
                except Exception:
                    logger.exception("heartbeat failed uploaded_file_id: %s stage=%s", upload_id, stage)
                    connection.close()  # reconnect on the next beat


HEARTBEATS = Heartbeats()
