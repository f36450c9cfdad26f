"""`manage.py queue_stats`: queue lengths from Redis, unacked messages, workers answering ping."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from config.celery import app


class Command(BaseCommand):
    help = (
        "Per-queue length (Redis LLEN), messages delivered but not yet acknowledged (running or prefetched), "
        "and the workers that answer ping, from the broker at CELERY_BROKER_URL."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--timeout", type=float, default=2.0, help="seconds to wait for ping replies")

    def handle(self, *args: Any, **options: Any) -> None:
        with app.connection_for_read() as conn:
            client = conn.default_channel.client  # type: ignore[attr-defined]
            for queue in settings.CELERY_QUEUE_TABLE:
                self.stdout.write(f"{queue:<14} {client.llen(queue)}")
            self.stdout.write(f"{'unacked':<14} {client.hlen('unacked')}")
        replies = app.control.ping(timeout=options["timeout"]) or []
        workers = sorted(name for reply in replies for name in reply)
        self.stdout.write(f"workers        {len(workers)}" + (f": {', '.join(workers)}" if workers else ""))
