"""What a stage's failure says to the uploader (no paths, storage names, addresses or exception classes)
and what it keeps for the operator."""

from __future__ import annotations

import pytest

from processing.media.runner import MediaToolError
from processing.messages import operator_detail, scrub, uploader_message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55d1c0a2b4c0] moov atom not found",
            "mov: moov atom not found",
        ),
        (
            "Invalid data found when processing input: '/srv/media/uploads/0123456789abcdef0123456789abcdef.html'",
            "Invalid data found when processing input: 'the file'",
        ),
        ("file:/tmp/hls-12-x8f/source.mp4: Invalid argument", "the file: Invalid argument"),
        ("cannot read uploads/0123456789abcdef0123456789abcdef.mp4 from storage", "cannot read the file from storage"),
        (
            "the LLM endpoint at http://127.0.0.1:8080/v1 said 503",
            "the LLM endpoint at http://127.0.0.1:8080/v1 said 503",
        ),
        ("its frames are 16000x16000; the limit is 8.8 megapixels (MEDIA_MAX_PIXELS)", None),
    ],
)
def test_scrub_removes_what_only_an_operator_should_see(text: str, expected: str | None) -> None:
    assert scrub(text) == (text if expected is None else expected)


def test_an_unexpected_error_tells_the_uploader_where_to_look_and_keeps_the_class_for_the_operator() -> None:
    exc = IndexError("list index out of range")
    public, detail = uploader_message(exc, unexpected=True, task_id="t-1"), operator_detail(exc)
    assert public == "an unexpected error stopped this stage (task t-1); an operator can find the details in admin"
    assert "IndexError" not in public
    assert detail == "IndexError: list index out of range"


def test_a_media_tool_error_keeps_ffmpeg_s_own_lines_for_the_operator() -> None:
    exc = MediaToolError(
        "ffmpeg exited 1: [hls @ 0x1] Unable to find mapping variant stream",
        tail="Input #0, mov, from '/tmp/hls-3-abc/source.mp4':\n[hls @ 0x1] Unable to find mapping variant stream",
    )
    public, detail = uploader_message(exc, unexpected=False), operator_detail(exc)
    assert public == "ffmpeg exited 1: hls: Unable to find mapping variant stream"
    assert detail.startswith("MediaToolError: ffmpeg exited 1")
    assert "/tmp/hls-3-abc/source.mp4" in detail
