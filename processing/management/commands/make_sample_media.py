"""`manage.py make_sample_media PATH`: write a short video with spoken words (espeak-ng + ffmpeg)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from processing.media.samples import speech_audio, speech_video


class Command(BaseCommand):
    help = "Generate a sample video (or --audio) with real speech, for trying the pipeline. Needs espeak-ng."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="output file, e.g. var/sample.mp4 (or .m4a with --audio)")
        parser.add_argument("--audio", action="store_true", help="speech only, no video")

    def handle(self, *args: Any, **options: Any) -> None:
        (speech_audio if options["audio"] else speech_video)(options["path"])
        self.stdout.write(f"wrote {options['path']}")
