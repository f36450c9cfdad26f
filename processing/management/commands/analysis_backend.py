"""`manage.py analysis_backend`: the analysis backend ANALYSIS_BACKEND resolves to (auto: local when
the local model is installed, else extractive), on stdout; when auto falls back, the log line that
says why goes to stderr."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from processing.analysis.configuration import resolve_backend


class Command(BaseCommand):
    help = (
        "Print the analysis backend in use (extractive, local or openai): ANALYSIS_BACKEND, with auto "
        "resolved to local when the local model (LLM_MODEL) is installed and to extractive otherwise."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(resolve_backend(str(settings.ANALYSIS_BACKEND or "")))
