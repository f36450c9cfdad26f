"""The HLS benchmark's setup, none of it timed: Django on a private SQLite file and media root, the
generated 60 s 720p30 source, and its UploadedFile row with a few transcript segments (so that the
pipeline's stage writes subtitles as it does for a real upload)."""

from __future__ import annotations

import os
import subprocess

from bench.hls_report import Setup
from processing.media.hls import parse_ladder, plan_renditions

WIDTH, HEIGHT, FPS = 1280, 720, 30
SUBTITLE_TEXTS = (
    "Welcome to the weekly operations meeting.",
    "Deliveries to the northern warehouse are late.",
    "We propose a new routing system to reduce the delays.",
)


def setup_django(work: str) -> None:
    """Settings, a private SQLite file and media root, and the schema: before any model import."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    os.environ["DATABASE_URL"] = f"sqlite:///{os.path.join(work, 'bench.sqlite3')}"
    os.environ["DJANGO_MEDIA_ROOT"] = os.path.join(work, "media")
    os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    import processing.services  # noqa: F401  (fail here, before the source is generated)


def generate_source(path: str, duration: float) -> None:
    """testsrc2 (moving pattern and counter) with a 440 Hz tone in AAC, like a typical upload."""
    subprocess.run(
        [
            "ffmpeg", "-v", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size={WIDTH}x{HEIGHT}:rate={FPS}",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
            "-t", f"{duration:.3f}", "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "128k", "-ac", "2", "-movflags", "+faststart", path,
        ],
        check=True,
    )  # fmt: skip


def transcript_segments(duration: float) -> list[dict[str, object]]:
    """A few cues spread over the source, so that (a) writes its subtitles as the pipeline does."""
    step = duration / len(SUBTITLE_TEXTS)
    return [
        {"start": round(i * step, 2), "end": round(i * step + min(step, 4.0), 2), "text": text}
        for i, text in enumerate(SUBTITLE_TEXTS)
    ]


def create_upload(source: str) -> int:
    """Save the source through Django storage and make its row, as upload_create would (no chain)."""
    from django.core.files import File
    from django.core.files.storage import default_storage

    from processing.media.probe import probe_file
    from processing.models import StageRun
    from uploads.models import MediaKind, StageStatus, UploadedFile

    info = probe_file(source)
    with open(source, "rb") as fh:
        name = default_storage.save("uploads/bench.mp4", File(fh))
    upload = UploadedFile.objects.create(
        file=name,
        original_name="bench.mp4",
        size=os.path.getsize(source),
        media_kind=MediaKind.VIDEO,
        duration=info.duration,
        width=info.width,
        height=info.height,
        has_audio=info.has_audio,
        transcript_segments=transcript_segments(info.duration),
        language="en",
    )
    # As the task leaves it: progress updates really write.
    StageRun.objects.filter(upload=upload, stage="hls").update(status=StageStatus.RUNNING)
    return upload.pk


def prepare(work: str, duration: float, preset: str | None) -> Setup:
    from django.conf import settings

    from processing.media.probe import probe_file

    source = os.path.join(work, "source.mp4")
    generate_source(source, duration)
    info = probe_file(source)
    assert info.width is not None
    assert info.height is not None
    ladder = tuple(settings.HLS_LADDER)
    return Setup(
        work=work,
        source=source,
        duration=info.duration,
        preset=preset or settings.HLS_X264_PRESET,
        segment_seconds=settings.HLS_SEGMENT_SECONDS,
        ladder=ladder,
        renditions=plan_renditions(info.width, info.height, parse_ladder(ladder)),
        upload_id=create_upload(source),
    )
