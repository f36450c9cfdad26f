"""HLS stage benchmark: the pipeline's stage against a raw one-pass ffmpeg and against the
one-process-per-rendition way (MediaCMS, PeerTube), side by side on one generated source.

    .venv/bin/python -m bench.hls [--duration 60] [--repeat 1] [--preset veryfast] [--keep]

(a) `processing.services.hls_run(upload)` on a real UploadedFile row (SQLite and media root in a
    temp dir): storage copy, probe, the one-pass encode, duration check, WebVTT, poster, publish.
(b) the same `build_hls_command(job)` run bare with subprocess.run: no Django, probe or storage.
(c) one ffmpeg per rendition, each decoding the source again and encoding video + audio, in turn.

Every variant uses libx264 with the same preset, bitrates, keyframe interval and segment length.
Prints wall times and the ratios a/b and a/c against their targets; exits 0 even on a miss.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence

from bench.hls_report import VARIANTS, Sample, Setup, Timings, dir_bytes, print_results, timed
from bench.hls_setup import FPS, HEIGHT, SUBTITLE_TEXTS, WIDTH, prepare, setup_django
from processing.media.hls import LIBX264, HlsJob, Rendition, build_hls_command


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.hls",
        description="HLS stage benchmark: pipeline vs raw one-pass vs one ffmpeg per rendition.",
    )
    parser.add_argument("--duration", type=float, default=60.0, help="source length in seconds (default 60)")
    parser.add_argument("--repeat", type=int, default=1, help="rounds of a, b, c; the median is reported")
    parser.add_argument("--preset", default=None, help="x264 preset (default: settings.HLS_X264_PRESET)")
    parser.add_argument("--keep", action="store_true", help="keep the work dir and print where it is")
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.repeat < 1:
        parser.error("--duration must be > 0 and --repeat >= 1")
    return args


# --- the three variants (each returns its wall seconds and output bytes) -------------------------


def run_pipeline(setup: Setup, encoder_mode: str = LIBX264) -> tuple[Sample, str]:
    """(a): the stage service on the row; also returns the encoder it really used."""
    from django.core.files.storage import default_storage
    from django.test import override_settings

    from processing.services import hls_run
    from uploads.models import UploadedFile

    upload = UploadedFile.objects.get(pk=setup.upload_id)
    with override_settings(HLS_ENCODER=encoder_mode, HLS_X264_PRESET=setup.preset), timed() as sample:
        result = hls_run(upload)
    sample.size = dir_bytes(default_storage.path(os.path.dirname(str(result["master"]))))
    return sample, str(result["encoder"])


def one_pass_job(setup: Setup, out_dir: str) -> HlsJob:
    return HlsJob(
        source=setup.source,
        out_dir=out_dir,
        renditions=setup.renditions,
        has_audio=True,
        encoder=LIBX264,
        preset=setup.preset,
        segment_seconds=setup.segment_seconds,
        fps=float(FPS),
    )


def run_one_pass(setup: Setup, out_dir: str) -> Sample:
    """(b): the pipeline's own command, bare."""
    os.makedirs(out_dir)
    args = build_hls_command(one_pass_job(setup, out_dir))
    with timed() as sample:
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sample.size = dir_bytes(out_dir)
    return sample


def per_rendition_command(source: str, out_dir: str, r: Rendition, preset: str, segment_seconds: int) -> list[str]:
    """What MediaCMS/PeerTube run per rung: decode, scale, encode video and audio, mux HLS."""
    return [
        "ffmpeg", "-hide_banner", "-nostats", "-y", "-i", source,
        "-vf", f"scale={r.width}:{r.height}", "-pix_fmt", "yuv420p",
        "-c:v", LIBX264, "-preset", preset,
        "-b:v", f"{r.rung.video_kbps}k", "-maxrate", f"{r.rung.maxrate_kbps}k", "-bufsize", f"{r.rung.bufsize_kbps}k",
        "-force_key_frames", f"expr:gte(t,n_forced*{segment_seconds})", "-sc_threshold", "0",
        "-c:a", "aac", "-b:a", f"{r.rung.audio_kbps}k", "-ac", "2", "-ar", "48000",
        "-f", "hls", "-hls_time", str(segment_seconds), "-hls_playlist_type", "vod", "-hls_segment_type", "fmp4",
        "-hls_segment_filename", f"{out_dir}/seg_%05d.m4s", f"{out_dir}/index.m3u8",
    ]  # fmt: skip


def run_per_rendition(setup: Setup, out_dir: str) -> Sample:
    """(c): one process per rendition, sequentially (a master playlist by hand is not timed)."""
    commands = []
    for r in setup.renditions:
        rendition_dir = os.path.join(out_dir, r.name)
        os.makedirs(rendition_dir)
        commands.append(per_rendition_command(setup.source, rendition_dir, r, setup.preset, setup.segment_seconds))
    with timed() as sample:
        for args in commands:
            subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sample.size = dir_bytes(out_dir)
    return sample


def measure_savable_cpu(setup: Setup) -> float:
    """CPU seconds of what one pass does once and (c) does once per rung: decoding the source and
    encoding its audio (at the top rung's audio bitrate). Untimed; it bounds what a/c can reach."""
    audio_kbps = max(r.rung.audio_kbps for r in setup.renditions)
    head = ["ffmpeg", "-v", "error", "-i", setup.source]
    runs = (
        [*head, "-an", "-f", "null", "-"],
        [*head, "-vn", "-c:a", "aac", "-b:a", f"{audio_kbps}k", "-f", "null", "-"],
    )
    with timed() as sample:
        for args in runs:
            subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return sample.cpu


# --- driving and reporting -------------------------------------------------------------------------


def run_round(setup: Setup, index: int, timings: Timings) -> None:
    """One a, b, c round; every other round runs c, b, a so that drift does not favour one side."""
    runners: dict[str, Callable[[], Sample]] = {
        "a": lambda: _pipeline_libx264(setup),
        "b": lambda: run_one_pass(setup, os.path.join(setup.work, f"b-{index}")),
        "c": lambda: run_per_rendition(setup, os.path.join(setup.work, f"c-{index}")),
    }
    order = VARIANTS if index % 2 == 0 else tuple(reversed(VARIANTS))
    for variant in order:
        sample = runners[variant]()
        timings.samples[variant].append(sample)
        print(f"  round {index + 1}: {variant} {sample.wall:7.2f} s wall, {sample.cpu:7.2f} s CPU", flush=True)


def _pipeline_libx264(setup: Setup) -> Sample:
    sample, encoder = run_pipeline(setup, LIBX264)
    if encoder != LIBX264:
        raise RuntimeError(f"hls_run used {encoder}, not {LIBX264}")
    return sample


def load_average() -> str:
    one, five, _fifteen = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min)"


def ffmpeg_version() -> str:
    out = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True, check=True).stdout
    return out.splitlines()[0] if out else "unknown"


def print_facts(setup: Setup, repeat: int) -> None:
    rungs = ", ".join(
        f"{r.name} {r.width}x{r.height} {r.rung.video_kbps}k+{r.rung.audio_kbps}k" for r in setup.renditions
    )
    print("HLS stage benchmark")
    print(f"  CPUs (os.cpu_count): {os.cpu_count()}; {load_average()}")
    print(f"  ffmpeg: {ffmpeg_version()}")
    print(
        f"  source: {setup.duration:.2f} s {WIDTH}x{HEIGHT} {FPS} fps testsrc2 + 440 Hz sine AAC, generated (untimed)"
    )
    print(f"  ladder: HLS_LADDER={','.join(setup.ladder)} -> {rungs}")
    print(f"  encoder: libx264, preset {setup.preset}, segments {setup.segment_seconds} s, keyframes forced every")
    print(f"           {setup.segment_seconds} s, sc_threshold 0, fMP4 segments; (a)/(b) one shared audio rendition,")
    print("           (c) audio encoded and muxed once per rendition (the anchors' way)")
    print(f"  (a) subtitles: {len(SUBTITLE_TEXTS)} transcript segments -> WebVTT playlist; poster written; SQLite row")
    order = "a, b, c" if repeat == 1 else "a, b, c then c, b, a alternating; medians"
    print(f"  repeats: {repeat} ({order})", flush=True)


def print_nvenc(setup: Setup, x264_wall: float) -> None:
    from processing.media.encoders import run_nvenc_trial

    probe = run_nvenc_trial()
    if not probe.available:
        print(f"NVENC: unavailable here: {probe.reason}")
        return
    sample, encoder = run_pipeline(setup, "nvenc")
    print(
        f"NVENC: (a) with HLS_ENCODER=nvenc {sample.wall:.2f} s (encoder used: {encoder}); "
        f"NVENC/libx264 wall = {sample.wall / x264_wall:.3f}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    work = tempfile.mkdtemp(prefix="bench-hls-")
    try:
        setup_django(work)
        setup = prepare(work, args.duration, args.preset)
        print_facts(setup, args.repeat)
        timings = Timings()
        try:
            for index in range(args.repeat):
                run_round(setup, index, timings)
        except subprocess.CalledProcessError as exc:
            hint = " (ffmpeg stopped by a signal: killed from outside?)" if exc.returncode == 255 else ""
            print(f"a variant failed: {exc.cmd[0]} exited {exc.returncode}{hint}: {' '.join(exc.cmd)}")
            return 1
        print_results(setup, timings, measure_savable_cpu(setup))
        print(f"after: {load_average()}")
        print_nvenc(setup, timings.median("a"))
    finally:
        if args.keep:
            print(f"work dir kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
