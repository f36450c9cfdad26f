"""`manage.py pipeline_status [ID] [--failed] [--json]`: the pipeline's state and history."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from processing.models import StageRun
from processing.status import upload_history, upload_summary
from uploads.models import StageStatus, UploadedFile


class Command(BaseCommand):
    help = (
        "Without ID: the latest uploads with each stage's status. With ID: that upload's stages (task id, "
        "attempts, heartbeat, error, Celery state, worker), every lifecycle event and its dead letters."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("id", nargs="?", type=int, help="an upload id (admin shows it)")
        parser.add_argument("--failed", action="store_true", help="only uploads with a failed stage")
        parser.add_argument("--limit", type=int, default=20, help="how many uploads to list (default 20)")
        parser.add_argument("--json", action="store_true", help="machine-readable output")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["id"] is not None:
            upload = UploadedFile.objects.filter(pk=options["id"]).first()
            if upload is None:
                raise CommandError(f"no upload with id {options['id']}")
            history = upload_history(upload)
            self.stdout.write(json.dumps(history, indent=2) if options["json"] else _format_history(history))
            return
        uploads = UploadedFile.objects.all()
        if options["failed"]:
            uploads = uploads.filter(pk__in=StageRun.objects.filter(status=StageStatus.FAILED).values("upload_id"))
        rows = [upload_summary(u) for u in uploads[: options["limit"]]]
        if options["json"]:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        for row in rows:
            stages = " ".join(f"{name}={status}" for name, status in row["stages"].items())
            self.stdout.write(f"#{row['id']:<6} {row['name'][:40]:<40} {stages}")
        if not rows:
            self.stdout.write("no uploads" + (" with a failed stage" if options["failed"] else ""))


def _format_history(history: dict[str, Any]) -> str:
    lines = [f"#{history['id']} {history['name']} ({history['kind']}) created {history['created_at']}"]
    if history["cancelled"]:
        lines.append("  cancel requested")
    for name, stage in history["stages"].items():
        lines.append(
            f"  {name:<14} {stage['status']:<10} task={stage['task_id'] or '-'} attempts={stage['attempts']} "
            f"celery={stage['celery_state'] or '-'} worker={stage['worker'] or '-'}"
        )
        if stage["error"]:
            lines.append(f"  {'':<14} {stage['error']}")
    total = sum(sp["talk_seconds"] for sp in history["speakers"]) or 1.0
    for sp in history["speakers"]:
        minutes, seconds = divmod(round(sp["talk_seconds"]), 60)
        share = 100 * sp["talk_seconds"] / total
        lines.append(
            f"  speaker {sp['label']:<4} {sp['name'][:30]:<30} talk {minutes:02d}:{seconds:02d} ({share:.0f}%), "
            f"{sp['turns']} turns"
        )
    lines.append("  events:")
    for e in history["events"]:
        took = f" {e['duration']:.2f}s" if e["duration"] is not None else ""
        lines.append(f"    {e['at']} {e['stage']:<13} {e['event']:<9} {e['hostname']}{took} {e['message']}".rstrip())
    for d in history["dead_letters"]:
        lines.append(f"  dead letter {d['at']} task={d['task_id']}: {d['exception']}")
    return "\n".join(lines)
