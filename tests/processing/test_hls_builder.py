"""Golden tests of the pure HLS builders: no ffmpeg runs here."""

from __future__ import annotations

from dataclasses import replace

from processing.media.hls import (
    LIBX264,
    NVENC,
    HlsJob,
    Rendition,
    Rung,
    build_hls_command,
    parse_ladder,
    plan_renditions,
    video_variants_first,
)
from processing.media.probe import FORMAT_WHITELIST

LADDER = parse_ladder(["1080:5000:128", "720:2800:128", "480:1400:96", "360:800:96"])


def _sizes(plans: tuple[Rendition, ...]) -> list[tuple[int, int]]:
    return [(p.width, p.height) for p in plans]


def test_ladder_parses_highest_first() -> None:
    assert [r.height for r in LADDER] == [1080, 720, 480, 360]
    assert LADDER[1] == Rung(height=720, video_kbps=2800, audio_kbps=128)
    assert LADDER[1].maxrate_kbps == 2996
    assert LADDER[1].bufsize_kbps == 4200


def test_landscape_source_gets_rungs_at_or_below_its_height() -> None:
    assert _sizes(plan_renditions(1280, 720, LADDER)) == [(1280, 720), (854, 480), (640, 360)]


def test_portrait_source_ladders_on_its_short_side() -> None:
    assert _sizes(plan_renditions(720, 1280, LADDER)) == [(720, 1280), (480, 854), (360, 640)]


def test_odd_size_gives_even_dimensions() -> None:
    plans = plan_renditions(853, 479, LADDER)
    assert _sizes(plans) == [(642, 360)]
    assert all(w % 2 == 0 and h % 2 == 0 for w, h in _sizes(plans))


def test_source_below_the_lowest_rung_gets_one_rung_at_its_own_size() -> None:
    plans = plan_renditions(320, 240, LADDER)
    assert _sizes(plans) == [(320, 240)]
    assert plans[0].rung.video_kbps == 800 * 240 // 360


def _job(**overrides: object) -> HlsJob:
    base = HlsJob(
        source="/in/src.mp4",
        out_dir="/out",
        renditions=plan_renditions(1280, 720, LADDER)[1:],
        has_audio=True,
        encoder=LIBX264,
        preset="veryfast",
        segment_seconds=4,
        fps=30.0,
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


def test_libx264_command_is_one_process_for_the_whole_ladder() -> None:
    assert build_hls_command(_job()) == [
        "ffmpeg", "-format_whitelist", FORMAT_WHITELIST, "-protocol_whitelist", "file", "-i", "file:/in/src.mp4",
        "-filter_complex", "[0:v]fps=30.0[s0];[s0]split=2[s1][s2];[s1]scale=854:480[s3];[s2]scale=640:360[s4]",
        "-map", "0:a:0", "-map", "[s3]", "-map", "[s4]",
        "-f", "hls", "-ac", "2", "-ar", "48000", "-b:a", "96k",
        "-b:v:0", "1400k", "-b:v:1", "800k", "-bufsize:v:0", "2100k", "-bufsize:v:1", "1200k",
        "-c:a", "aac", "-c:v", "libx264",
        "-force_key_frames", "expr:gte(t,n_forced*4)",
        "-hls_flags", "independent_segments", "-hls_fmp4_init_filename", "init.mp4",
        "-hls_playlist_type", "vod", "-hls_segment_filename", "/out/%v/seg_%05d.m4s",
        "-hls_segment_type", "fmp4", "-hls_time", "4", "-map_chapters", "-1", "-map_metadata", "-1",
        "-master_pl_name", "master.m3u8", "-maxrate:v:0", "1498k", "-maxrate:v:1", "856k",
        "-pix_fmt", "yuv420p", "-preset", "veryfast", "-sc_threshold", "0",
        "-var_stream_map", "a:0,agroup:audio,name:audio v:0,name:480p,agroup:audio v:1,name:360p,agroup:audio",
        "-x264-params", "open-gop=0",
        "/out/%v/index.m3u8", "-hide_banner", "-nostats", "-progress", "pipe:1", "-y",
    ]  # fmt: skip


def test_the_default_audio_track_is_the_one_streamed() -> None:
    args = build_hls_command(_job(audio_index=2))
    assert next(args[i + 1] for i, arg in enumerate(args) if arg == "-map") == "0:a:2"
    assert args[args.index("-var_stream_map") + 1].startswith("a:0,agroup:audio,name:audio ")


def test_nvenc_command_uses_forced_idr_and_no_x264_options() -> None:
    args = build_hls_command(_job(encoder=NVENC))
    assert args[args.index("-c:v") + 1] == NVENC
    assert args[args.index("-forced-idr") + 1] == "1"
    assert args[args.index("-preset") + 1] == "p4"
    assert "-x264-params" not in args
    assert "-sc_threshold" not in args


def test_source_without_audio_maps_video_only() -> None:
    args = build_hls_command(_job(has_audio=False))
    assert not any(arg.startswith("0:a") for arg in args)
    assert "-c:a" not in args
    assert args[args.index("-var_stream_map") + 1] == "v:0,name:480p v:1,name:360p"


def test_unknown_frame_rate_adds_no_fps_filter() -> None:
    args = build_hls_command(_job(fps=None))
    assert args[args.index("-filter_complex") + 1].startswith("[0:v]split=2")


def test_the_audio_only_variant_is_listed_after_the_video_variants() -> None:
    master = (
        "#EXTM3U\n#EXT-X-VERSION:7\n"
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="group_audio",NAME="audio_0",DEFAULT=YES,URI="audio/index.m3u8"\n'
        '#EXT-X-STREAM-INF:BANDWIDTH=105600,CODECS="mp4a.40.2",AUDIO="group_audio"\naudio/index.m3u8\n\n'
        '#EXT-X-STREAM-INF:BANDWIDTH=985600,RESOLUTION=640x360,CODECS="avc1.42c01e,mp4a.40.2"\n360p/index.m3u8\n\n'
        '#EXT-X-STREAM-INF:BANDWIDTH=545600,RESOLUTION=426x240,CODECS="avc1.42c015,mp4a.40.2"\n240p/index.m3u8\n'
    )
    reordered = video_variants_first(master)
    uris = [line for line in reordered.splitlines() if line and not line.startswith("#")]
    assert uris == ["360p/index.m3u8", "240p/index.m3u8", "audio/index.m3u8"]
    assert reordered.splitlines()[:3] == master.splitlines()[:3]
    assert video_variants_first(reordered) == reordered
