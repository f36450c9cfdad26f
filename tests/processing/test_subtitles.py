"""Golden tests of the pure subtitle builders: WebVTT, SRT and their HLS wiring (no DB, no ffmpeg)."""

from __future__ import annotations

import re

import pytest

from processing.media.subtitles import (
    add_subtitles_to_master,
    language_name,
    subtitle_playlist,
    to_srt,
    to_webvtt,
)

SEGMENTS: list[dict] = [
    {"start": 3725.5, "end": 3727.25, "text": " Over an hour in."},
    {"start": 1.5, "end": 4.0, "text": " Hello world."},
    {"start": 4.0, "end": 6.125, "text": "a --> b & <c>\n\n  second line  "},
]

EXPECTED_VTT = (
    "WEBVTT\n\n"
    "1\n00:00:01.500 --> 00:00:04.000\nHello world.\n\n"
    "2\n00:00:04.000 --> 00:00:06.125\na -> b &amp; &lt;c>\nsecond line\n\n"
    "3\n01:02:05.500 --> 01:02:07.250\nOver an hour in.\n\n"
)

EXPECTED_SRT = (
    "1\n00:00:01,500 --> 00:00:04,000\nHello world.\n\n"
    "2\n00:00:04,000 --> 00:00:06,125\na -> b & <c>\nsecond line\n\n"
    "3\n01:02:05,500 --> 01:02:07,250\nOver an hour in.\n\n"
)

MASTER_WITH_AUDIO = """#EXTM3U
#EXT-X-VERSION:7
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="group_audio",NAME="audio_0",DEFAULT=YES,URI="audio/index.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=105600,CODECS="mp4a.40.2",AUDIO="group_audio"
audio/index.m3u8

#EXT-X-STREAM-INF:BANDWIDTH=985600,RESOLUTION=640x360,CODECS="avc1.42c01e,mp4a.40.2",AUDIO="group_audio"
360p/index.m3u8

"""

MASTER_VIDEO_ONLY = """#EXTM3U
#EXT-X-VERSION:7
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-STREAM-INF:BANDWIDTH=985600,RESOLUTION=640x360,CODECS="avc1.42c01e"
360p/index.m3u8

#EXT-X-STREAM-INF:BANDWIDTH=2200000,RESOLUTION=1280x720,CODECS="avc1.64001f"
720p/index.m3u8

"""

SUBS_LINE = (
    '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",LANGUAGE="en",'
    'DEFAULT=YES,AUTOSELECT=YES,FORCED=NO,URI="subs/index.m3u8"'
)

_VTT_TIMING = re.compile(r"^(\d{2,}):(\d{2}):(\d{2})\.(\d{3}) --> (\d{2,}):(\d{2}):(\d{2})\.(\d{3})")


def parse_webvtt(text: str) -> list[tuple[float, float, str]]:
    """Read WebVTT cues back as (start, end, text), undoing the &amp;/&lt; escapes."""
    assert text.startswith("WEBVTT")
    cues: list[tuple[float, float, str]] = []
    for block in text.split("\n\n")[1:]:
        lines = [line for line in block.split("\n") if line]
        timing_at = next((i for i, line in enumerate(lines) if "-->" in line), None)
        if timing_at is None:
            continue
        match = _VTT_TIMING.match(lines[timing_at])
        assert match, lines[timing_at]
        h1, m1, s1, ms1, h2, m2, s2, ms2 = (int(group) for group in match.groups())
        start = (h1 * 3_600_000 + m1 * 60_000 + s1 * 1000 + ms1) / 1000  # whole ms first: 2.345 stays 2.345
        end = (h2 * 3_600_000 + m2 * 60_000 + s2 * 1000 + ms2) / 1000
        body = "\n".join(lines[timing_at + 1 :]).replace("&lt;", "<").replace("&amp;", "&")
        cues.append((start, end, body))
    return cues


def _add_english(master: str) -> str:
    return add_subtitles_to_master(master, uri="subs/index.m3u8", language="en", name="English")


def _uris(playlist: str) -> list[str]:
    return [line for line in playlist.splitlines() if line and not line.startswith("#")]


def test_webvtt_golden_sorted_escaped_and_over_an_hour() -> None:
    assert to_webvtt(SEGMENTS) == EXPECTED_VTT


def test_srt_golden_uses_commas_and_no_html_escaping() -> None:
    assert to_srt(SEGMENTS) == EXPECTED_SRT


def test_webvtt_parses_back_to_the_segments() -> None:
    segments = [
        {"start": 0.0, "end": 2.345, "text": "First."},
        {"start": 2.345, "end": 5.0, "text": "Tom & Jerry <3"},
        {"start": 3725.5, "end": 3730.0, "text": "Late."},
    ]

    cues = parse_webvtt(to_webvtt(segments))

    assert cues == [(seg["start"], seg["end"], seg["text"]) for seg in segments]


def test_arrow_can_never_survive_in_cue_text() -> None:
    vtt = to_webvtt([{"start": 0.0, "end": 1.0, "text": "x ---> y ----> z"}])

    assert parse_webvtt(vtt) == [(0.0, 1.0, "x -> y -> z")]
    assert vtt.count("-->") == 1  # only the timing line


def test_non_positive_duration_gets_half_a_second() -> None:
    segments = [{"start": 10.0, "end": 10.0, "text": "blink"}, {"start": 20.0, "end": 19.0, "text": "back"}]

    assert [(start, end) for start, end, _ in parse_webvtt(to_webvtt(segments))] == [(10.0, 10.5), (20.0, 20.5)]
    assert "00:00:20,000 --> 00:00:20,500" in to_srt(segments)


def test_blank_text_segments_are_dropped_and_cues_renumbered() -> None:
    segments = [
        {"start": 0.0, "end": 1.0, "text": "one"},
        {"start": 1.0, "end": 2.0, "text": " \n\n "},
        {"start": 2.0, "end": 3.0, "text": "two"},
    ]

    assert to_srt(segments) == "1\n00:00:00,000 --> 00:00:01,000\none\n\n2\n00:00:02,000 --> 00:00:03,000\ntwo\n\n"


def test_empty_transcript() -> None:
    assert to_webvtt([]) == "WEBVTT\n\n"
    assert parse_webvtt(to_webvtt([])) == []
    assert to_srt([]) == ""


def test_subtitle_playlist_is_one_vod_segment() -> None:
    playlist = subtitle_playlist(13.42)

    assert playlist == (
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:14\n#EXT-X-MEDIA-SEQUENCE:0\n"
        "#EXT-X-PLAYLIST-TYPE:VOD\n#EXTINF:13.420,\nsubtitles.vtt\n#EXT-X-ENDLIST\n"
    )
    assert "#EXT-X-TARGETDURATION:1\n" in subtitle_playlist(0.0, "x.vtt")
    assert "\nx.vtt\n" in subtitle_playlist(0.0, "x.vtt")


@pytest.mark.parametrize("master", [MASTER_WITH_AUDIO, MASTER_VIDEO_ONLY], ids=["with-audio", "video-only"])
def test_add_subtitles_to_master(master: str) -> None:
    result = _add_english(master)
    lines = result.splitlines()

    media = [line for line in lines if "TYPE=SUBTITLES" in line]
    assert media == [SUBS_LINE]
    stream_infs = [line for line in lines if line.startswith("#EXT-X-STREAM-INF:")]
    assert len(stream_infs) == 2
    assert all(line.endswith(',SUBTITLES="subs"') and line.count("SUBTITLES=") == 1 for line in stream_infs)
    assert _uris(result) == _uris(master)
    # every variant URI still follows its own STREAM-INF line
    assert [lines[i + 1] for i, line in enumerate(lines) if line.startswith("#EXT-X-STREAM-INF:")] == _uris(master)
    assert _add_english(result) == result
    assert result.endswith("\n\n")


def test_subtitles_line_goes_after_the_last_media_line_or_the_version() -> None:
    with_audio = _add_english(MASTER_WITH_AUDIO).splitlines()
    video_only = _add_english(MASTER_VIDEO_ONLY).splitlines()

    assert with_audio[3].startswith("#EXT-X-MEDIA:TYPE=AUDIO")
    assert with_audio[4] == SUBS_LINE
    assert video_only[:3] == ["#EXTM3U", "#EXT-X-VERSION:7", SUBS_LINE]
    assert _add_english("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\na.m3u8\n").splitlines()[1] == SUBS_LINE


def test_second_language_is_added_once_and_not_default() -> None:
    both = add_subtitles_to_master(
        _add_english(MASTER_WITH_AUDIO), uri="subs_ja/index.m3u8", language="ja", name="Japanese"
    )

    media = [line for line in both.splitlines() if "TYPE=SUBTITLES" in line]
    assert media[0] == SUBS_LINE
    assert 'LANGUAGE="ja"' in media[1]
    assert "DEFAULT=NO" in media[1]
    assert all(line.count('SUBTITLES="subs"') == 1 for line in both.splitlines() if "STREAM-INF" in line)


def test_quotes_and_newlines_are_stripped_from_attributes() -> None:
    result = add_subtitles_to_master(MASTER_VIDEO_ONLY, uri="subs/index.m3u8", language='e"n\n', name='Eng"lish\r\nX')

    media = next(line for line in result.splitlines() if "TYPE=SUBTITLES" in line)
    assert 'NAME="EnglishX",LANGUAGE="en"' in media
    assert len(result.splitlines()) == len(MASTER_VIDEO_ONLY.splitlines()) + 1


def test_not_a_playlist_is_rejected() -> None:
    with pytest.raises(ValueError, match="EXTM3U"):
        _add_english("360p/index.m3u8\n")


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("en", "English"),
        ("ja", "Japanese"),
        ("zh", "Chinese"),
        ("ko", "Korean"),
        ("de", "German"),
        ("fr", "French"),
        ("es", "Spanish"),
        ("it", "Italian"),
        ("pt", "Portuguese"),
        ("ru", "Russian"),
        ("nl", "Dutch"),
        ("ar", "Arabic"),
        ("hi", "Hindi"),
        ("pl", "Polish"),
        ("tr", "Turkish"),
        ("EN", "English"),
        ("pt-BR", "Portuguese"),
        ("sw", "sw"),
        ("", "Subtitles"),
        ("  ", "Subtitles"),
    ],
)
def test_language_name(code: str, name: str) -> None:
    assert language_name(code) == name


def _cue_lines(vtt: str) -> list[list[str]]:
    blocks = [block.split("\n") for block in vtt.strip().split("\n\n")[1:]]
    return [block[2:] for block in blocks]


def _columns(line: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in line)


def test_japanese_cues_keep_to_18_full_width_characters_a_line_and_two_lines() -> None:
    text = (
        "本日の会議では配送の遅れについて話し合います北の倉庫への配送が三日遅れています"
        "来月までに運転手を二人増やすことを提案します"
    )
    vtt = to_webvtt([{"start": 0.0, "end": 12.0, "text": text}])
    cues = _cue_lines(vtt)
    assert len(cues) == 2  # 58 characters: 4 lines of at most 18, two a cue
    assert all(len(lines) <= 2 for lines in cues)
    assert all(_columns(line) <= 36 for lines in cues for line in lines)
    assert "".join(line for lines in cues for line in lines) == text  # nothing lost or added
    times = re.findall(r"(\d\d:\d\d:\d\d\.\d{3}) --> (\d\d:\d\d:\d\d\.\d{3})", vtt)
    assert (times[0][0], times[-1][1]) == ("00:00:00.000", "00:00:12.000")
    assert times[0][1] == times[1][0]  # back to back, split by the text's share of the time


def test_long_english_segments_break_at_words_and_take_the_word_times() -> None:
    said = "the committee agreed to hire two more drivers before the holiday season and to review the routes"
    words = said.split(" ")
    segment = {
        "start": 10.0, "end": 20.0, "text": " " + " ".join(words),
        "words": [{"start": 10.0 + i * 0.5, "end": 10.4 + i * 0.5, "word": f" {w}"} for i, w in enumerate(words)],
    }  # fmt: skip
    srt = to_srt([segment])
    cues = [block.split("\n") for block in srt.strip().split("\n\n")]
    lines = [line for cue in cues for line in cue[2:]]
    assert all(len(line) <= 42 for line in lines)
    assert " ".join(lines).split() == words  # broken only between words
    assert [len(cue[2:]) for cue in cues] == [2, 1]  # 98 characters: three lines, two a cue
    index = len(" ".join(cues[0][2:]).split())  # the second cue starts when its first word is said
    assert cues[1][1].startswith(f"00:00:{10 + index * 0.5:06.3f}".replace(".", ","))
