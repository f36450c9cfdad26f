"""The analysis stage's single entry point: pick the configured backend and run it.

Backends: "extractive" (offline, deterministic, processing/analysis/extractive.py), "local" (the
language model this project installs, served by manage.py llm_server) and "openai" (any OpenAI-compatible
chat-completions endpoint); both LLM backends are processing/analysis/llm.py. "auto" is resolved to local
or extractive by .configuration before it gets here.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping

from processing.analysis.configuration import options_from_settings
from processing.analysis.extractive import (
    Segment,
    definition_issue,
    definition_solution,
    resolve_language,
    summarize_text,
)
from processing.analysis.results import (
    AnalysisConfigError,
    AnalysisError,
    AnalysisOptions,
    AnalysisOutputError,
    AnalysisResult,
    AnalysisTransientError,
    attach_speakers,
    exclusive,
    with_speaker_names,
)

__all__ = [
    "BACKENDS", "AnalysisConfigError", "AnalysisError", "AnalysisOptions", "AnalysisOutputError", "AnalysisResult",
    "AnalysisTransientError", "analyze", "transcript_language",
]  # fmt: skip
BACKENDS = ("auto", "extractive", "local", "openai")


def analyze(
    segments: list[Segment],
    *,
    language: str = "",
    options: AnalysisOptions | None = None,
    on_progress: Callable[[str, float], None] | None = None,
    speakers: Mapping[str, str] | None = None,
) -> AnalysisResult:
    """Summarise `segments` and list the issues and solutions raised, with the configured backend
    (`options`, read from settings when not given), in ANALYSIS_LANGUAGE or else the transcript's.

    `language` is the transcript's language code (e.g. "ja", "en-US"); empty or "auto" detects it.
    `on_progress` hears ("chunk 2 of 5", share done) as an LLM backend works through the transcript.
    `speakers` names the segments' speaker labels: a language model reads each line with its
    speaker's name ("Tanaka: ..."), and every issue and solution carries the label of who said it.
    """
    result = _analyze(segments, language, options, on_progress, speakers or {})
    # Who raised an issue or proposed a solution; a summary item speaks for the meeting, not for one voice.
    return dataclasses.replace(
        result, issues=attach_speakers(result.issues, segments), solutions=attach_speakers(result.solutions, segments)
    )


def _analyze(
    segments: list[Segment],
    language: str,
    options: AnalysisOptions | None,
    on_progress: Callable[[str, float], None] | None,
    speakers: Mapping[str, str],
) -> AnalysisResult:
    options = options or options_from_settings()
    backend = options.backend.strip().lower()
    spoken = transcript_language(segments, language)
    written = transcript_language(segments, options.language) if options.language.strip() else spoken
    if backend == "extractive":
        # Extractive picks the speakers' own sentences: they stay in the language spoken.
        return _analyze_extractive(segments, spoken, options)
    if backend in ("local", "openai"):
        # Imported here so extractive-only workers never pay for importing the OpenAI SDK (no loop:
        # llm imports the result types from .results, not from this module).
        from processing.analysis import llm

        spoken_by = with_speaker_names(segments, speakers)
        result = llm.analyze(spoken_by, language=written, options=options, on_progress=on_progress)
        if written != spoken:
            result.meta["transcript_language"] = spoken
        return result
    raise AnalysisConfigError(
        f"unknown analysis backend {options.backend!r}: set ANALYSIS_BACKEND to one of {', '.join(BACKENDS)}"
    )


def transcript_language(segments: list[Segment], language: str) -> str:
    """The primary language subtag ("en-US" -> "en"), or the detected one when none was given."""
    code = language.strip().lower().replace("_", "-").split("-")[0]
    if code in ("", "auto"):
        return resolve_language(segments, "auto")
    return code


def _analyze_extractive(segments: list[Segment], language: str, options: AnalysisOptions) -> AnalysisResult:
    started = time.monotonic()
    summary = summarize_text(segments, language=language, max_sentences=options.summary_sentences)
    solutions = definition_solution(segments, language=language)
    issues = exclusive(definition_issue(segments, language=language), solutions)
    meta = {"language": language, "latency_ms": round((time.monotonic() - started) * 1000, 1)}
    return AnalysisResult(summary, issues, solutions, backend="extractive", model="", meta=meta)
