"""What a stage's outcome says to whom. The message stored in `<stage>_error` is shown on the pages
to the uploader: it says what happened and what to do, in words. What an operator needs besides
(exception class, ffmpeg's own line with its paths, storage names) goes to the log and to
`stage_details`, which admin shows."""

from __future__ import annotations

import re

from .analysis.results import AnalysisOutputError
from .media.runner import MediaToolError, plain_context

# file paths (absolute, or file: URLs), our storage names, and ffmpeg's "[demuxer @ 0x55..]" prefixes
_PATH = re.compile(r"(?:\bfile:|(?<![\w.:/]))/(?:[^\s'\"(),;:]+/)*[^\s'\"(),;:]*")
_STORAGE_NAME = re.compile(r"\b(?:uploads/[0-9a-f]{32}[\w.]*|hls/\d+/[\w./-]+)")


def scrub(text: str) -> str:
    """`text` without file paths, storage names or memory addresses."""
    text = plain_context(text)
    text = _PATH.sub("the file", text)  # before storage names: a path may end in one
    return _STORAGE_NAME.sub("the file", text)


def operator_detail(exc: BaseException) -> str:
    """Everything an operator needs: the exception's class and text, and ffmpeg's own last lines or the
    language model's last reply."""
    detail = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, MediaToolError) and exc.tail:
        detail += f"\n{exc.tail[-2000:]}"
    elif isinstance(exc, AnalysisOutputError) and exc.tail:
        detail += f"\nthe model's last reply:\n{exc.tail[:2000]}"
    return detail


def uploader_message(exc: BaseException, *, unexpected: bool, task_id: str = "") -> str:
    """What the uploader reads: the scrubbed message, or for a crash only where to look."""
    if unexpected:
        where = f" (task {task_id})" if task_id else ""
        return f"an unexpected error stopped this stage{where}; an operator can find the details in admin"
    return scrub(str(exc))
