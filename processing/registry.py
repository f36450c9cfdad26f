"""What a pipeline stage is, in one place: its key, its Celery task and queue, the service that does
its work, the phrases the runbook greps for, the media kinds it applies to and (by its position in
STAGES) its place in the chain. The chain, the routes in settings, the lifecycle records' task
names, the stage runner's log lines and process_file --sync all read it.

Plain Python with no Django import, so that config.settings can build its routes from it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

AUDIO, VIDEO = "audio", "video"


@dataclass(frozen=True)
class StageSpec:
    key: str  # the upload's column prefix and the CLI's --from-stage value
    task_name: str  # the Celery task, as the runbook names it
    queue: str  # a row of CELERY_QUEUE_TABLE
    service: str  # "module:function" taking an UploadedFile, returning a dict for the log line
    phrase: str  # "<phrase> failed uploaded_file_id: N", "<phrase> <done> uploaded_file_id: N"
    done: str
    media_kinds: frozenset[str]

    def load_service(self) -> Callable[[Any], dict[str, Any]]:
        module, _, name = self.service.partition(":")
        function: Callable[[Any], dict[str, Any]] = getattr(importlib.import_module(module), name)
        return function


STAGES: tuple[StageSpec, ...] = (
    StageSpec(
        key="transcription",
        task_name="processing.tasks.transcribe_and_save_async",
        queue="transcription",
        service="processing.services:transcription_run",
        phrase="Transcription",
        done="completed successfully",
        media_kinds=frozenset({AUDIO, VIDEO}),
    ),
    StageSpec(
        key="analysis",
        task_name="processing.tasks.generate_ai_analysis_async",
        queue="analysis",
        service="processing.services:analysis_run",
        phrase="AI analysis",
        done="completed successfully",
        media_kinds=frozenset({AUDIO, VIDEO}),
    ),
    StageSpec(
        key="hls",
        task_name="processing.tasks.generate_hls_async",
        queue="hls",
        service="processing.services:hls_run",
        phrase="HLS generation",
        done="completed",
        media_kinds=frozenset({VIDEO}),
    ),
)
BY_KEY = {spec.key: spec for spec in STAGES}
BY_TASK = {spec.task_name: spec for spec in STAGES}


def spec(key: str) -> StageSpec:
    return BY_KEY[str(key)]


def stages_for(media_kind: str) -> list[StageSpec]:
    """The chain for an upload of this kind, in order."""
    return [s for s in STAGES if str(media_kind) in s.media_kinds]


def task_routes() -> dict[str, dict[str, str]]:
    """CELERY_TASK_ROUTES for the stage tasks."""
    return {s.task_name: {"queue": s.queue} for s in STAGES}
