"""The speakers stage's service: diarize the upload's audio window by window, label its transcript,
and store one Speaker row per voice, keeping the names users gave to voices that still match."""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction

from processing.errors import NothingToDo
from processing.state import ProgressRecorder
from processing.transcription.windows import audio_windows
from uploads.models import Speaker, UploadedFile

from .diarize import Diarizer, Turn, label_segments

logger = logging.getLogger(__name__)


def label(index: int) -> str:
    return f"S{index + 1}"


def speakers_run(upload: UploadedFile) -> dict[str, Any]:
    if not settings.SPEAKERS_ENABLED:
        raise NothingToDo("speakers not identified: SPEAKERS_ENABLED is off")
    if not upload.has_audio:
        raise NothingToDo("the file has no audio track: no speakers")
    started = time.monotonic()
    progress = ProgressRecorder(upload.pk, "speakers", total_seconds=upload.duration or 0)
    diarizer = Diarizer(
        threshold=settings.SPEAKERS_THRESHOLD, min_speakers=settings.SPEAKERS_MIN, max_speakers=settings.SPEAKERS_MAX
    )
    duration = 0.0
    with upload.file.open("rb") as audio:
        for window in audio_windows(audio, settings.SPEAKERS_WINDOW_SECONDS, stream=upload.audio_stream):
            diarizer.feed(window.offset, window.samples, on_progress=progress)
            duration = window.offset + window.duration
            progress(duration)
    turns = diarizer.finish()
    centroids = diarizer.centroids()
    seconds = round(time.monotonic() - started, 3)
    saved = speakers_save(upload, turns, centroids)
    logger.info(
        "speakers found uploaded_file_id: %s speakers=%d turns=%d in %.1f s", upload.pk, saved, len(turns), seconds
    )
    return {
        **({} if saved else {"note": "no speech found: no speakers"}),
        "speakers": saved,
        "turns": len(turns),
        "rtf": round(seconds / duration, 4) if duration else None,
    }


def _kept_names(previous: list[Speaker], centroids: np.ndarray) -> dict[int, str]:
    """New speaker index -> the name of the old speaker whose voice it matches best, one to one, when
    at least SPEAKERS_KEEP_NAME_SIMILARITY alike."""
    named = [s for s in previous if s.name.strip() and len(s.centroid) == centroids.shape[1]]
    if not named or not len(centroids):
        return {}
    # scipy only when names are to be kept (a re-run after a rename)
    from scipy.optimize import linear_sum_assignment

    old = np.array([s.centroid for s in named], dtype=np.float64)
    old /= np.maximum(np.linalg.norm(old, axis=1, keepdims=True), 1e-9)
    similarity = centroids @ old.T
    rows, cols = linear_sum_assignment(-similarity)
    return {
        int(r): named[c].name
        for r, c in zip(rows, cols, strict=True)
        if similarity[r, c] >= settings.SPEAKERS_KEEP_NAME_SIMILARITY
    }


def speakers_save(upload: UploadedFile, turns: list[Turn], centroids: np.ndarray) -> int:
    """Replace the upload's speakers and label its segments (and translation) with them, in one
    transaction. Returns the number of speakers."""
    # Speakers numbered 1..n in order of appearance, even if smoothing left a cluster without a turn.
    present = sorted({t.speaker for t in turns})
    renumber = {old: new for new, old in enumerate(present)}
    turns = [Turn(t.start, t.end, renumber[t.speaker]) for t in turns]
    centroids = centroids[present] if len(centroids) and present else centroids[:0]
    present = list(range(len(present)))
    with transaction.atomic():
        previous = list(Speaker.objects.select_for_update().filter(upload=upload))
        names = _kept_names(previous, centroids)
        Speaker.objects.filter(upload=upload).delete()
        rows = []
        for index in present:
            own = [t for t in turns if t.speaker == index]
            rows.append(
                Speaker(
                    upload=upload,
                    index=index,
                    label=label(index),
                    name=names.get(index, ""),
                    talk_seconds=round(sum(t.end - t.start for t in own), 2),
                    turns=len(own),
                    centroid=[round(float(v), 5) for v in centroids[index]] if index < len(centroids) else [],
                )
            )
        Speaker.objects.bulk_create(rows)
        plain = [_unlabelled(s) for s in upload.transcript_segments or []]
        upload.transcript_segments = label_segments(plain, turns, label)
        upload.translation_segments = [
            {**segment, "speaker": found["speaker"]}
            for segment, found in zip(
                upload.translation_segments or [],
                label_segments([_unlabelled(s) for s in upload.translation_segments or []], turns, label),
                strict=True,
            )
        ]
        upload.save(update_fields=["transcript_segments", "translation_segments"])
    return len(rows)


def _unlabelled(segment: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in segment.items() if k != "speaker"}
    if "words" in out:
        out["words"] = [{k: v for k, v in w.items() if k != "speaker"} for w in out["words"] or []]
    return out


def speaker_names(upload: UploadedFile) -> dict[str, str]:
    """label -> what people read, for every view and export."""
    return {s.label: s.display_name for s in upload.speakers.all()}


def speaker_rename(upload: UploadedFile, label_: str, name: str) -> Speaker:
    """A user's name for a voice; blank goes back to "Speaker N". The HLS subtitle files follow."""
    name = " ".join(name.split())[:80]
    speaker = Speaker.objects.get(upload=upload, label=label_)
    speaker.name = name
    speaker.save(update_fields=["name"])
    # republish imports speaker_names from here: imported when a rename happens, not at the top
    from .republish import republish_subtitles

    republish_subtitles(upload)
    return speaker
