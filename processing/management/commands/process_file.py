"""`manage.py process_file PATH`: upload a file through upload_create and watch the pipeline."""

from __future__ import annotations

import os
import time
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, CommandParser

from processing.inline import InlineRun
from processing.registry import STAGES
from uploads.models import UploadedFile
from uploads.services import upload_create


class Command(BaseCommand):
    help = (
        "Upload a media file from disk through the same service as admin, then wait for the pipeline "
        "(transcription -> AI analysis -> HLS) and print each stage's outcome. Needs a running worker "
        "(`celery -A config worker -Q transcription,analysis,hls,default`) unless --sync is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="audio or video file to upload")
        parser.add_argument(
            "--sync",
            action="store_true",
            help="run the stages in this process, without a broker, under each task's soft and hard time limits",
        )
        parser.add_argument("--soft-time-limit", type=float, help="with --sync: soft time limit of every stage (s)")
        parser.add_argument("--time-limit", type=float, help="with --sync: hard time limit of every stage (s)")
        parser.add_argument(
            "--timeout", type=float, default=1800, help="seconds to wait for the pipeline (default 1800)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = options["path"]
        if not os.path.isfile(path):
            raise CommandError(f"no such file: {path}")
        inline = InlineRun(options["soft_time_limit"], options["time_limit"]) if options["sync"] else None
        upload = self._create(path, inline)
        self.stdout.write(
            f"Uploaded #{upload.pk} {upload.original_name} ({upload.media_kind}, {upload.duration:.1f} s)"
        )
        if inline is not None:
            inline.run()  # the same stage tasks, in this process; the states are reported below
        self._wait(upload.pk, options["timeout"])

    def _create(self, path: str, inline: InlineRun | None) -> UploadedFile:
        with open(path, "rb") as fh:
            try:
                return upload_create(
                    file=File(fh, name=os.path.basename(path)), original_name=os.path.basename(path), send=inline
                )
            except ValidationError as exc:
                raise CommandError("; ".join(exc.messages)) from exc

    def _wait(self, upload_id: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        reported: dict[str, str] = {}
        while True:
            upload = UploadedFile.objects.get(pk=upload_id)
            for spec in STAGES:
                run = upload.stage(spec.key)
                status = f"running {run.progress:.0f}%" if run.status == "running" else run.status
                if reported.get(spec.key) != status:
                    reported[spec.key] = status
                    message = f": {run.error}" if run.error else ""
                    self.stdout.write(f"  {spec.label:<14} {status}{message}")
            if upload.is_finished:
                break
            if time.monotonic() > deadline:
                raise CommandError(f"timed out after {timeout:.0f} s; is a worker running?")
            time.sleep(0.5)
        self._summary(upload)

    def _summary(self, upload: UploadedFile) -> None:
        if upload.transcript_text:
            self.stdout.write(f"Transcript ({upload.language}): {upload.transcript_text[:300]}")
        if upload.summary:
            self.stdout.write(f"Summary: {upload.summary}")
        for label, items in (("Issue", upload.issues), ("Solution", upload.solutions)):
            for item in items:
                self.stdout.write(f"{label} [{item['start']:.1f} s]: {item['text']}")
        if upload.hls_master:
            self.stdout.write(f"HLS master: {upload.hls_master} (encoder {upload.hls_encoder})")
            if upload.hls_poster:
                self.stdout.write(f"Poster: {upload.hls_poster}")
            if upload.hls_fallback_reason:
                self.stdout.write(f"  fallback reason: {upload.hls_fallback_reason}")
        failed = [spec.label for spec in STAGES if upload.stage_status(spec.key) == "failed"]
        if failed:
            raise CommandError(f"stage failed: {', '.join(failed)}")
