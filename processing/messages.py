"""What a stage's outcome says to whom. The message stored in `<stage>_error` is shown on the pages
to the uploader: it says what happened and what to do, in words. What an operator needs besides
(exception class, ffmpeg's own line with its paths, storage names) goes to the log and to
`stage_details`, which admin shows."""

from __future__ import annotations

import re

from .media.runner import MediaToolError

# file paths (absolute, or file: URLs), our storage names, and ffmpeg's "[demuxer @ 0x55..]" prefixes
_PATH = re.compile(r"(?:\bfile:|(?<![\w.:/]))/(?:[^\s'\"(),;:]+/)*[^\s'\"(),;:]*")
_STORAGE_NAME = re.compile(r"\b(?:uploads/[0-9a-f]{32}[\w.]*|hls/\d+/[\w./-]+)")
_CONTEXT = re.compile(r"\[([^\]@]+?) @ (?:0x)?[0-9a-f]+\]\s*")


def scrub(text: str) -> str:
    """`text` without file paths, storage names or memory addresses."""
    text = _CONTEXT.sub(lambda m: m.group(1).split(",")[0] + ": ", text)
    text = _PATH.sub("the file", text)  # before storage names: a path may end in one
    return _STORAGE_NAME.sub("the file", text)


def media_tool_message(exc: MediaToolError) -> str:
    return scrub(str(exc))


def failure_messages(exc: BaseException, *, unexpected: bool, task_id: str = "") -> tuple[str, str]:
    """(what the uploader sees, what the operator sees) for an exception that ended a stage."""
    detail = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, MediaToolError) and exc.tail:
        detail += f"\n{exc.tail[-2000:]}"
    if unexpected:
        where = f" (task {task_id})" if task_id else ""
        public = f"an unexpected error stopped this stage{where}; an operator can find the details in admin"
        return public, detail
    return scrub(str(exc)), detail
