"""`manage.py cancel ID`: stop an upload's pipeline for good."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from processing.pipeline import pipeline_cancel
from uploads.models import UploadedFile


class Command(BaseCommand):
    help = (
        "Set the upload's cancel flag, mark its unfinished stages cancelled and revoke their tasks (the "
        "running one also gets soft_stop: SIGUSR1, which stops ffmpeg/Whisper and removes scratch files). "
        "Survives worker restarts: every stage checks the flag before it starts. `reprocess` clears it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("id", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        upload = UploadedFile.objects.filter(pk=options["id"]).first()
        if upload is None:
            raise CommandError(f"no upload with id {options['id']}")
        revoked = pipeline_cancel(upload)
        self.stdout.write(f"cancelled #{upload.pk}; revoked {len(revoked)} task(s): {', '.join(revoked) or '-'}")
