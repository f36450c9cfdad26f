"""Which exceptions a stage retries and which end it at once."""

from __future__ import annotations

import av
import redis
from django.db import InterfaceError, OperationalError

from .analysis.backends import AnalysisConfigError, AnalysisOutputError, AnalysisTransientError
from .media.probe import InvalidMedia
from .media.runner import MediaToolError
from .transcription.engine import TranscriptionConfigError


class NothingToDo(Exception):
    """The stage has no input to work on (e.g. no speech); it ends skipped with this reason."""


# Worth another try later: the database, the broker, storage or the LLM endpoint was unavailable.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    redis.exceptions.ConnectionError,
    ConnectionError,
    TimeoutError,
    AnalysisTransientError,
)
# Another try would fail the same way: bad media or configuration.
PERMANENT_ERRORS: tuple[type[Exception], ...] = (
    InvalidMedia,
    MediaToolError,
    TranscriptionConfigError,
    AnalysisConfigError,
    AnalysisOutputError,
    av.error.FFmpegError,
)
