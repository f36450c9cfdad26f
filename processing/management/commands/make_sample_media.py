"""`manage.py make_sample_media PATH`: write a short meeting video, two voices talking (espeak-ng + ffmpeg)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from processing.media.dialogue import dialogue_video
from processing.media.samples import speech_audio, speech_video


class Command(BaseCommand):
    help = (
        "Generate a sample video with real speech by two voices (or --audio, or --one-voice), for trying the "
        "pipeline. Needs espeak-ng."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="output file, e.g. var/meeting.mp4 (or .m4a with --audio)")
        parser.add_argument("--audio", action="store_true", help="speech only, no video, one voice")
        parser.add_argument("--one-voice", action="store_true", help="one voice reading the sample text")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["audio"]:
            speech_audio(options["path"])
        elif options["one_voice"]:
            speech_video(options["path"])
        else:
            turns = dialogue_video(options["path"])
            self.stdout.write(f"{len(turns)} turns by {len({t.voice for t in turns})} voices")
        self.stdout.write(f"wrote {options['path']}")
