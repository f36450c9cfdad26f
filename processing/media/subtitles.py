"""Pure builders for subtitles (WebVTT, SRT) and their HLS wiring (stdlib only, no I/O here).

Segments are Whisper's ``{"start": s, "end": s, "text": str}``; cue text is cleaned so that it can
never break the formats ("-->" in the text, blank lines, "<" and "&" in WebVTT).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from processing import language_names as names

MIN_CUE_SECONDS = 0.5

# One attribute of an HLS attribute list: quoted values may hold commas.
_ATTRIBUTE = re.compile(r'(?:[^,"]|"[^"]*")+')


def _clean_text(text: str) -> str:
    while "-->" in text:  # a loop: "--->" would otherwise become "-->" again
        text = text.replace("-->", "->")
    lines = (line.strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _timestamp(seconds: float, separator: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


# Cue layout: at most CUE_LINES lines of at most these many columns (a full-width character takes
# two): 18 full-width characters for Japanese, Chinese and Korean, 42 characters elsewhere (the
# common broadcast rule). A segment that needs more becomes several cues, timed by its words.
CUE_LINES = 2
WIDE_COLUMNS = 36
NARROW_COLUMNS = 42


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _is_wide(text: str) -> bool:
    letters = [ch for ch in text if not ch.isspace()]
    wide = sum(1 for ch in letters if unicodedata.east_asian_width(ch) in ("W", "F"))
    return bool(letters) and wide * 2 >= len(letters)


def _pieces(segment: Mapping[str, Any], text: str, start: float, end: float, wide: bool) -> list[tuple[str, float]]:
    """(piece, start time) units a line may break after: the segment's words when their text is the
    cue's text, else characters (wide scripts) or words, timed by their share of the width."""
    words = segment.get("words") or []
    joined = "".join(str(w.get("word", "")) for w in words)
    if words and _clean_text(joined).replace("\n", " ") == text.replace("\n", " "):
        return [(str(w["word"]).strip() if not wide else str(w["word"]), float(w["start"])) for w in words]
    units = list(text.replace("\n", "")) if wide else text.split()
    total = sum(_width(u) for u in units) or 1
    pieces, at = [], 0
    for unit in units:
        pieces.append((unit, start + (end - start) * at / total))
        at += _width(unit)
    return pieces


def _layout(segment: Mapping[str, Any], start: float, end: float, text: str) -> list[tuple[float, float, str]]:
    """The segment's cues: lines filled up to the column limit, CUE_LINES lines a cue."""
    wide = _is_wide(text)
    limit, glue = (WIDE_COLUMNS, "") if wide else (NARROW_COLUMNS, " ")
    given = text.split("\n")
    if len(given) <= CUE_LINES and all(_width(line) <= limit for line in given):
        return [(start, end, text)]  # fits as it is (its own line breaks kept)
    lines: list[tuple[float, str]] = []  # (start, text)
    for piece, at in _pieces(segment, text, start, end, wide):
        piece = piece.strip() if not wide else piece.replace("\n", "")
        if not piece.strip():
            continue
        if lines and _width(lines[-1][1] + glue + piece) <= limit:
            lines[-1] = (lines[-1][0], lines[-1][1] + glue + piece if lines[-1][1] else piece)
        else:
            lines.append((at, piece.strip()))
    if not lines:
        return []
    cues = []
    for first in range(0, len(lines), CUE_LINES):
        group = lines[first : first + CUE_LINES]
        cue_start = start if first == 0 else max(start, group[0][0])
        following = first + CUE_LINES
        cue_end = lines[following][0] if following < len(lines) else end
        cues.append((cue_start, max(cue_end, cue_start + MIN_CUE_SECONDS), "\n".join(t.strip() for _, t in group)))
    return cues


Names = Mapping[str, str]  # speaker label ("S1") -> the name shown ("Tanaka")


def speaker_of(segment: Mapping[str, Any], names: Names | None) -> str:
    """The segment's speaker as people read it: its name, else its label; "" without one."""
    label = str(segment.get("speaker") or "")
    return _clean_text((names or {}).get(label, label)).replace("\n", " ") if label else ""


def _cues(segments: Sequence[Mapping[str, Any]], names: Names | None = None) -> list[tuple[float, float, str, str]]:
    """Sorted (start, end, text, speaker) cues within the layout rules; segments whose text is empty
    once cleaned are dropped."""
    cues: list[tuple[float, float, str, str]] = []
    for segment in sorted(segments, key=lambda seg: float(seg["start"])):
        start = max(0.0, float(segment["start"]))
        end = float(segment["end"])
        if end <= start:
            end = start + MIN_CUE_SECONDS
        text = _clean_text(str(segment.get("text") or ""))
        if text:
            who = speaker_of(segment, names)
            cues.extend((a, b, t, who) for a, b, t in _layout(segment, start, end, text))
    return cues


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_webvtt(segments: Sequence[Mapping[str, Any]], names: Names | None = None) -> str:
    """WebVTT; a segment with a speaker is a voice span (`<v Tanaka>text`)."""
    blocks = ["WEBVTT\n\n"]
    for number, (start, end, text, who) in enumerate(_cues(segments, names), start=1):
        escaped = text.replace("&", "&amp;").replace("<", "&lt;")
        voice = f"<v {_escape(who)}>" if who else ""
        blocks.append(f"{number}\n{_timestamp(start, '.')} --> {_timestamp(end, '.')}\n{voice}{escaped}\n\n")
    return "".join(blocks)


def to_srt(segments: Sequence[Mapping[str, Any]], names: Names | None = None) -> str:
    """SRT; a segment with a speaker starts with the name ("Tanaka: ...")."""
    return "".join(
        f"{number}\n{_timestamp(start, ',')} --> {_timestamp(end, ',')}\n{who + ': ' if who else ''}{text}\n\n"
        for number, (start, end, text, who) in enumerate(_cues(segments, names), start=1)
    )


def to_text(segments: Sequence[Mapping[str, Any]], names: Names | None = None) -> str:
    """Plain text, a segment a line; a change of speaker starts a line with the name ("Tanaka: ...")."""
    lines, previous = [], None
    for segment in segments:
        text = _clean_text(str(segment.get("text") or "")).replace("\n", " ")
        if not text:
            continue
        who = speaker_of(segment, names)
        lines.append(f"{who}: {text}" if who and who != previous else text)
        previous = who
    return "\n".join(lines) + "\n"


def subtitle_playlist(duration: float, vtt_uri: str = "subtitles.vtt") -> str:
    """A VOD media playlist whose single segment is the whole WebVTT file."""
    duration = round(max(0.0, duration), 3)
    return (
        "#EXTM3U\n"
        "#EXT-X-VERSION:3\n"
        f"#EXT-X-TARGETDURATION:{max(1, math.ceil(duration))}\n"
        "#EXT-X-MEDIA-SEQUENCE:0\n"
        "#EXT-X-PLAYLIST-TYPE:VOD\n"
        f"#EXTINF:{duration:.3f},\n"
        f"{vtt_uri}\n"
        "#EXT-X-ENDLIST\n"
    )


def _quoted(value: str) -> str:
    return value.replace('"', "").replace("\r", "").replace("\n", "")


def _with_subtitles(stream_inf: str, group_id: str) -> str:
    """The STREAM-INF line with exactly one SUBTITLES attribute, ours, at the end."""
    tag, _, attributes = stream_inf.partition(":")
    kept = [attr for attr in _ATTRIBUTE.findall(attributes) if not attr.startswith("SUBTITLES=")]
    kept.append(f'SUBTITLES="{group_id}"')
    return tag + ":" + ",".join(kept)


def add_subtitles_to_master(master: str, *, uri: str, language: str, name: str, group_id: str = "subs") -> str:
    """Declare one subtitles rendition in the master playlist and attach it to every variant.

    Idempotent: a rendition of the same group and URI is not declared twice. Only the first
    rendition of a group is DEFAULT=YES, so several languages can be added one call each.
    """
    group_id, uri = _quoted(group_id), _quoted(uri)
    lines = master.split("\n")
    if not lines[0].strip().startswith("#EXTM3U"):
        raise ValueError("not an HLS playlist: the first line is not #EXTM3U")
    in_group = [
        line
        for line in lines
        if line.startswith("#EXT-X-MEDIA:") and "TYPE=SUBTITLES" in line and f'GROUP-ID="{group_id}"' in line
    ]
    if not any(f'URI="{uri}"' in line for line in in_group):
        default = "NO" if in_group else "YES"
        media = (
            f'#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="{group_id}",NAME="{_quoted(name)}",'
            f'LANGUAGE="{_quoted(language)}",DEFAULT={default},AUTOSELECT=YES,FORCED=NO,URI="{uri}"'
        )
        anchors = [i for i, line in enumerate(lines) if line.startswith("#EXT-X-MEDIA:")]
        anchors = anchors or [i for i, line in enumerate(lines) if line.startswith("#EXT-X-VERSION")] or [0]
        lines.insert(anchors[-1] + 1, media + ("\r" if lines[0].endswith("\r") else ""))  # keep CRLF files CRLF
    for i, line in enumerate(lines):
        if line.startswith("#EXT-X-STREAM-INF:"):
            ending = "\r" if line.endswith("\r") else ""
            lines[i] = _with_subtitles(line.rstrip(), group_id) + ending
    return "\n".join(lines)


def language_name(code: str) -> str:
    """The subtitle rendition's NAME: the language's English name, the code itself when unknown."""
    code = code.strip()
    return (names.language_name(code) or code) if code else "Subtitles"
