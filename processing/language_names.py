"""English names of the languages Whisper detects most often, for messages, subtitle track names and
LLM prompts (models follow "write in Japanese" far more reliably than "write in ja"). Pure: no Django."""

from __future__ import annotations

import re

NAMES = {
    "ar": "Arabic", "de": "German", "en": "English", "es": "Spanish", "fr": "French", "hi": "Hindi",
    "id": "Indonesian", "it": "Italian", "ja": "Japanese", "ko": "Korean", "nl": "Dutch", "pl": "Polish",
    "pt": "Portuguese", "ru": "Russian", "sv": "Swedish", "th": "Thai", "tr": "Turkish", "uk": "Ukrainian",
    "vi": "Vietnamese", "zh": "Chinese",
}  # fmt: skip


def language_name(code: str, unknown: str | None = None) -> str | None:
    """The name of an ISO 639-1 code (a regional tag such as ja-JP counts as its language), else `unknown`."""
    primary = re.split(r"[-_]", code.strip().lower(), maxsplit=1)[0]
    return NAMES.get(primary, unknown)
