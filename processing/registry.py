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
    key: str  # StageRun.stage, the CLI's --from-stage value, the status JSON's and the admin's name
    label: str  # what people read: pages, admin, process_file
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


# The chain in order. A list, changed only by register()/unregister(), so that every module that
# imported it sees an app's added stage.
STAGES: list[StageSpec] = [
    StageSpec(
        key="transcription",
        label="Transcription",
        task_name="processing.tasks.transcribe_and_save_async",
        queue="transcription",
        service="processing.services:transcription_run",
        phrase="Transcription",
        done="completed successfully",
        media_kinds=frozenset({AUDIO, VIDEO}),
    ),
    StageSpec(
        key="speakers",
        label="Speakers",
        task_name="processing.tasks.diarize_speakers_async",
        queue="transcription",
        service="processing.speakers.service:speakers_run",
        phrase="Speaker diarization",
        done="completed successfully",
        media_kinds=frozenset({AUDIO, VIDEO}),
    ),
    StageSpec(
        key="analysis",
        label="AI analysis",
        task_name="processing.tasks.generate_ai_analysis_async",
        queue="analysis",
        service="processing.services:analysis_run",
        phrase="AI analysis",
        done="completed successfully",
        media_kinds=frozenset({AUDIO, VIDEO}),
    ),
    StageSpec(
        key="hls",
        label="HLS",
        task_name="processing.tasks.generate_hls_async",
        queue="hls",
        service="processing.services:hls_run",
        phrase="HLS generation",
        done="completed",
        media_kinds=frozenset({VIDEO}),
    ),
]


def register(stage: StageSpec, *, after: str | None = None) -> None:
    """Add a stage to the chain, after the stage `after` (default: at the end). An app does this in
    its AppConfig.ready(), in every process (web, worker, beat), and defines the stage's task with
    processing.tasks.stage_task(key)."""
    if any(s.key == stage.key or s.task_name == stage.task_name for s in STAGES):
        raise ValueError(f"a stage named {stage.key!r} or a task {stage.task_name!r} is already registered")
    position = len(STAGES) if after is None else [s.key for s in STAGES].index(after) + 1
    STAGES.insert(position, stage)


def unregister(key: str) -> None:
    STAGES[:] = [s for s in STAGES if s.key != key]


def spec(key: str) -> StageSpec:
    for stage in STAGES:
        if stage.key == key:
            return stage
    raise KeyError(f"no stage {key!r}; registered: {', '.join(keys())}")


def by_task(task_name: str) -> StageSpec | None:
    return next((s for s in STAGES if s.task_name == task_name), None)


def stages_for(media_kind: str) -> list[StageSpec]:
    """The chain for an upload of this kind, in order."""
    return [s for s in STAGES if str(media_kind) in s.media_kinds]


def keys() -> list[str]:
    return [s.key for s in STAGES]


def task_routes() -> dict[str, dict[str, str]]:
    """CELERY_TASK_ROUTES for the stage tasks."""
    return {s.task_name: {"queue": s.queue} for s in STAGES}
