"""`manage.py reprocess ID [--from-stage STAGE]`: run the chain again from a stage."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from processing.pipeline import first_unsucceeded_stage, pipeline_resume, pipeline_stages
from processing.registry import keys
from uploads.models import UploadedFile


class Command(BaseCommand):
    help = (
        "Queue the upload's pipeline again from STAGE (default: the first stage that did not succeed), "
        "with new task ids; that stage and every later one run again and replace their results."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("id", type=int)
        parser.add_argument("--from-stage", choices=keys(), help=", ".join(keys()))

    def handle(self, *args: Any, **options: Any) -> None:
        upload = UploadedFile.objects.filter(pk=options["id"]).first()
        if upload is None:
            raise CommandError(f"no upload with id {options['id']}")
        stage = options["from_stage"] or first_unsucceeded_stage(upload) or pipeline_stages(upload)[0]
        try:
            with transaction.atomic():
                task_ids = pipeline_resume(upload, from_stage=stage)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"queued #{upload.pk} from {stage}: {', '.join(task_ids)}")
