"""openai-whisper (PyTorch .pt checkpoints): offline checkpoint resolution, loading and transcription.

openai-whisper downloads a named model on first use, and again when the file's SHA-256 does not match.
Offline (WHISPER_ALLOW_DOWNLOAD off) a named model is therefore loaded from its file path, never by name.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any
from urllib.error import URLError

from .common import (
    ModelSpec,
    ProgressCallback,
    Transcript,
    TranscriptionConfigError,
    TranscriptionOptions,
    segment_dict,
    word_dict,
)

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000
COMPUTE_TYPES = ("float16", "float32")
# Extra keyword arguments for whisper's transcribe(): its own defaults (temperature fallback, conditioning on
# the previous text), as faster-whisper uses its defaults too. A module-level dict so tests can make it cheap.
DECODE_OPTIONS: dict[str, Any] = {}


@dataclass(frozen=True)
class Checkpoint:
    load_as: str  # what whisper.load_model gets: a .pt path, or an official name when downloads are allowed
    alignment_heads_of: str | None = None  # official name whose word-alignment heads a path-loaded model needs


def device_auto() -> str:
    import torch  # heavy (seconds): imported only when openai-whisper is the engine

    return "cuda" if torch.cuda.is_available() else "cpu"


def check_compute_type(spec: ModelSpec) -> None:
    if spec.compute_type not in COMPUTE_TYPES:
        raise TranscriptionConfigError(
            f"WHISPER_COMPUTE_TYPE={spec.compute_type!r} does not work with openai-whisper, which runs "
            "float16 (CUDA) or float32; set WHISPER_COMPUTE_TYPE=default"
        )


def resolve_checkpoint(model: str, options: TranscriptionOptions) -> Checkpoint:
    """Where the .pt checkpoint for WHISPER_MODEL is, or a TranscriptionConfigError saying what to change.
    Touches no network and creates nothing (whisper's own loader creates the download root)."""
    if not model:
        raise TranscriptionConfigError(
            "openai-whisper needs a .pt checkpoint, and WHISPER_MODEL is empty: the bundled tiny.en is a "
            "CTranslate2 folder that only faster-whisper can load; set WHISPER_MODEL to a .pt path or a name "
            "such as tiny.en, or TRANSCRIPTION_ENGINE=faster-whisper"
        )
    path = os.path.expanduser(model)
    if os.path.isdir(path):
        raise TranscriptionConfigError(
            f"openai-whisper needs a .pt checkpoint, and WHISPER_MODEL={model!r} is a folder (a CTranslate2 "
            "model is for faster-whisper); set WHISPER_MODEL to a .pt file or TRANSCRIPTION_ENGINE=faster-whisper"
        )
    if os.path.isfile(path):
        return Checkpoint(load_as=path)
    import whisper  # openai-whisper imports torch (seconds): only when it is the engine

    if model not in whisper.available_models():
        raise TranscriptionConfigError(
            f"WHISPER_MODEL={model!r} is neither an existing .pt file nor an openai-whisper model name "
            f"({', '.join(whisper.available_models())})"
        )
    root = options.download_root
    filename = os.path.basename(whisper._MODELS[model])  # "turbo" is large-v3-turbo.pt, not turbo.pt
    target = os.path.join(root, filename)
    if options.allow_download:
        return Checkpoint(load_as=model)  # by name: whisper checks the SHA-256 and fetches what is missing
    if os.path.isfile(target):
        return Checkpoint(load_as=target, alignment_heads_of=model)
    raise TranscriptionConfigError(
        f"openai-whisper model {model!r} is not on this machine: {target} does not exist and "
        "WHISPER_ALLOW_DOWNLOAD is off, so nothing is downloaded. Set WHISPER_MODEL to a local .pt checkpoint "
        f"path, put {filename} in WHISPER_DOWNLOAD_ROOT ({root}), or set WHISPER_ALLOW_DOWNLOAD=true"
    )


def is_english_only(model: str) -> bool:
    name = os.path.basename(model)
    return name.removesuffix(".pt").endswith(".en")


def load(spec: ModelSpec, options: TranscriptionOptions) -> Any:
    import whisper  # openai-whisper imports torch (seconds): only when it is the engine

    check_compute_type(spec)
    checkpoint = resolve_checkpoint(spec.model, options)
    try:
        model = whisper.load_model(checkpoint.load_as, device=spec.device, download_root=options.download_root)
    except URLError:
        raise  # a download that failed (allowed, network down): worth another try, not a configuration error
    except (RuntimeError, OSError, KeyError, ValueError, TypeError) as exc:
        raise TranscriptionConfigError(f"cannot load openai-whisper checkpoint {checkpoint.load_as!r}: {exc}") from exc
    if checkpoint.alignment_heads_of is not None:
        # load_model sets these only when loading by name; word timestamps are poor without them.
        model.set_alignment_heads(whisper._ALIGNMENT_HEADS[checkpoint.alignment_heads_of])
    return model


def is_multilingual(model: Any) -> bool:
    return bool(model.is_multilingual)


def run(
    model: Any,
    samples: Any,
    spec: ModelSpec,
    options: TranscriptionOptions,
    *,
    language: str | None,
    on_progress: ProgressCallback | None,
    task: str = "transcribe",
) -> Transcript:
    """One window of decoded samples (float32, 16 kHz). `language` None detects it. task="translate"
    writes English, without word times (as in backend_faster)."""
    duration = len(samples) / SAMPLE_RATE
    fp16 = spec.device == "cuda" and spec.compute_type == "float16"
    language, probability = _language(model, samples, fp16, language)
    result = Transcript(language=language, language_probability=probability, duration=duration)
    clipped: dict[str, Any] = {}
    if options.vad:
        clips = _speech_clips(samples)
        if not clips:
            return result  # no speech at all; an empty clip list would make whisper decode everything
        clipped["clip_timestamps"] = clips
    word_timestamps = options.word_timestamps and task == "transcribe"
    output = model.transcribe(
        samples,
        language=language,
        task=task,
        beam_size=options.beam_size,
        word_timestamps=word_timestamps,
        fp16=fp16,
        verbose=None,
        **{**clipped, **DECODE_OPTIONS},
    )
    # openai-whisper hands the segments over only at the end, so progress comes in one burst here.
    for seg in output["segments"]:
        words = None
        if word_timestamps:
            words = (word_dict(w["start"], w["end"], w["word"], w["probability"]) for w in seg.get("words", ()))
        item = segment_dict(seg["start"], seg["end"], seg["text"], words)
        if item is not None:
            result.segments.append(item)
        if on_progress is not None:
            on_progress(float(seg["end"]))
    return result


def _language(model: Any, samples: Any, fp16: bool, language: str | None) -> tuple[str, float]:
    """The language and its probability. whisper's transcribe() detects the language on the first 30 s but
    does not return the probability; doing that one detection here and passing the language on costs
    nothing extra. A given language, or an English-only model, is certain (as faster-whisper reports it)."""
    if language is not None:
        return language, 1.0
    if not model.is_multilingual:
        return "en", 1.0
    import whisper  # openai-whisper imports torch (seconds): only when it is the engine

    mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(samples), model.dims.n_mels).to(model.device)
    _, probs = model.detect_language(mel.half() if fp16 else mel)
    best = max(probs, key=probs.get)
    return str(best), float(probs[best])


def detect_language(model: Any, samples: Any, spec: ModelSpec) -> tuple[str, float] | None:
    """(language, probability) of the first 30 s of `samples` (WHISPER_WINDOW_LANGUAGE=each), or None
    for less than half a second of audio."""
    if len(samples) < SAMPLE_RATE // 2:
        return None
    return _language(model, samples, spec.device == "cuda" and spec.compute_type == "float16", None)


def _speech_clips(samples: Any) -> list[float]:
    """WHISPER_VAD for openai-whisper: faster-whisper's Silero VAD chunks as whisper's clip_timestamps."""
    # Imported when VAD runs: faster-whisper's Silero VAD and whisper's constants (whisper imports torch).
    from faster_whisper.vad import VadOptions, get_speech_timestamps
    from whisper.audio import FRAMES_PER_SECOND, HOP_LENGTH

    # Whisper loops forever on a clip that ends past its last mel frame (the window it cuts is empty and
    # the seek never moves), and VAD's last end can round past it: clamp every time to that frame.
    last = (len(samples) // HOP_LENGTH) / FRAMES_PER_SECOND
    chunks = get_speech_timestamps(samples, VadOptions(), sampling_rate=SAMPLE_RATE)
    return [min(round(chunk[key] / SAMPLE_RATE, 3), last) for chunk in chunks for key in ("start", "end")]
