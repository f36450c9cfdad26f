"""`manage.py recover_stuck [--dry-run]`: the watchdog, by hand."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from processing.recovery import cleanup_scratch, recover_stuck


class Command(BaseCommand):
    help = (
        "Re-queue stages whose heartbeat is older than PIPELINE_STALE_SECONDS (worker lost) or that were "
        "queued longer than PIPELINE_QUEUED_STALE_SECONDS with no message in Redis (message lost); fail "
        "them after PIPELINE_MAX_ATTEMPTS. Beat runs the same every minute."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="report what would be done, change nothing")
        parser.add_argument("--scratch", action="store_true", help="also remove stale HLS scratch folders")

    def handle(self, *args: Any, **options: Any) -> None:
        report = recover_stuck(dry_run=options["dry_run"])
        prefix = "would " if options["dry_run"] else ""
        for line in report.lines():
            self.stdout.write(prefix + line)
        if options["scratch"]:
            for path in cleanup_scratch(dry_run=options["dry_run"]):
                self.stdout.write(f"{prefix}remove scratch folder {path}")
        if not report.lines():
            self.stdout.write("nothing stuck")
