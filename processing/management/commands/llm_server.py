"""`manage.py llm_server [--port N]`: the local language model's OpenAI-compatible server (LLM_*)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from processing import assets
from processing.analysis.server import ServerError, ServerOptions, serve


def model_path(name: str, models_dir: str) -> str:
    """LLM_MODEL as a file: an asset this project installs (assembled, verified), or a .gguf path."""
    if name in assets.names(assets.LLM):
        try:
            folder = assets.model_folder(name, models_dir)
        except assets.AssetError as exc:
            raise CommandError(f"LLM_MODEL={name}: {exc}") from exc
        return str(folder / assets.ASSETS[name].filename)
    path = Path(name).expanduser()
    if not path.is_file():
        known = ", ".join(assets.names(assets.LLM))
        raise CommandError(f"LLM_MODEL={name!r} is neither a model this project installs ({known}) nor a .gguf file")
    return str(path)


class Command(BaseCommand):
    help = (
        "Serve the local language model (LLM_MODEL, assembled by processing/assets.py) with llama.cpp's "
        "OpenAI-compatible HTTP server on LLM_HOST:LLM_PORT (/v1/chat/completions, /health) until "
        "SIGINT/SIGTERM. The analysis stage's openai backend talks to it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=None, help="instead of LLM_PORT (0 = any free port)")

    def handle(self, *args: Any, **options: Any) -> None:
        port = settings.LLM_PORT if options["port"] is None else options["port"]
        server = ServerOptions(
            model=model_path(str(settings.LLM_MODEL), str(settings.WHISPER_MODELS_DIR)),
            host=str(settings.LLM_HOST),
            port=int(port),
            context=int(settings.LLM_CONTEXT),
            threads=int(settings.LLM_THREADS),
            parallel=int(settings.LLM_PARALLEL),
            api_key=str(settings.LLM_API_KEY or ""),
        )
        self.stdout.write(f"llm: loading {server.model} (pid {os.getpid()})")
        self.stdout.flush()

        def ready(address: str) -> None:
            self.stdout.write(f"llm: serving {settings.LLM_MODEL} at {address}/v1")
            self.stdout.flush()

        try:
            serve(server, ready=ready)
        except ServerError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write("llm: stopped")
