"""What an HLS benchmark run collects (its setup, the timed samples, how they are taken) and how the
results are printed: wall and CPU per variant, the ratios against their targets, the a/c floor in
CPU time, and a warning when other processes shared the cores."""

from __future__ import annotations

import contextlib
import os
import resource
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from processing.media.hls import Rendition

TARGET_A_OVER_B = 1.05  # the pipeline's bookkeeping costs at most 5% over the bare encode
TARGET_A_OVER_C = 0.70  # one decode for the whole ladder saves at least 30% over one per rung
VARIANTS = ("a", "b", "c")
CONTENTION_SHARE = 0.10  # warn when other processes used more than this share of all cores
LABELS = {
    "a": "(a) pipeline hls_run (Django+storage)",
    "b": "(b) raw one-pass build_hls_command",
    "c": "(c) one ffmpeg per rendition, in turn",
}


@dataclass(frozen=True)
class Setup:
    work: str
    source: str
    duration: float
    preset: str
    segment_seconds: int
    ladder: tuple[str, ...]
    renditions: tuple[Rendition, ...]
    upload_id: int


@dataclass
class Sample:
    """One timed run: wall seconds, CPU seconds of this process and its children (ffmpeg), and CPU
    seconds the rest of the machine used meanwhile (other work sharing the cores skews the wall)."""

    wall: float = 0.0
    cpu: float = 0.0
    others_cpu: float | None = None
    size: int = 0


@dataclass
class Timings:
    samples: dict[str, list[Sample]] = field(default_factory=lambda: {v: [] for v in VARIANTS})

    def median(self, variant: str, attr: str = "wall") -> float:
        return statistics.median(float(getattr(sample, attr)) for sample in self.samples[variant])

    def others(self, variant: str) -> float | None:
        values = [s.others_cpu for s in self.samples[variant] if s.others_cpu is not None]
        return statistics.median(values) if values else None


def own_cpu() -> float:
    """CPU seconds of this process and of its waited-for children (every ffmpeg run here)."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def machine_busy_cpu() -> float | None:
    """CPU seconds the whole machine has been busy since boot (/proc/stat); None off Linux."""
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            fields = [int(v) for v in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def timed() -> Iterator[Sample]:
    sample = Sample()
    busy0, cpu0, start = machine_busy_cpu(), own_cpu(), time.perf_counter()
    yield sample
    sample.wall = time.perf_counter() - start
    sample.cpu = own_cpu() - cpu0
    busy1 = machine_busy_cpu()
    if busy0 is not None and busy1 is not None:
        sample.others_cpu = max(0.0, busy1 - busy0 - sample.cpu)


def dir_bytes(path: str) -> int:
    return sum(os.path.getsize(os.path.join(root, f)) for root, _dirs, files in os.walk(path) for f in files)


def ratio_line(name: str, ratio: float, target: float) -> str:
    verdict = "PASS" if ratio <= target else "MISS"
    return f"{name:<8} {ratio:7.3f} {'<= ' + format(target, '.2f'):>9}  {verdict}"


def print_results(setup: Setup, timings: Timings, savable_cpu: float) -> None:
    print()
    print("RT factor = wall / source duration; CPU = this process + its ffmpeg children; others = CPU the")
    print("rest of the machine used meanwhile; output = bytes written (for (a): the published set)")
    print(f"{'variant':<40} {'wall s':>8} {'RT factor':>9} {'CPU s':>8} {'others s':>9} {'output MB':>10}")
    for variant in VARIANTS:
        print(variant_line(setup, timings, variant))
        if len(timings.samples[variant]) > 1:
            print(f"{'':<4}wall runs: {', '.join(f'{s.wall:.2f}' for s in timings.samples[variant])}")
    a, b, c = (timings.median(v) for v in VARIANTS)
    cpu_a, cpu_b, cpu_c = (timings.median(v, "cpu") for v in VARIANTS)
    print()
    print(f"{'ratio':<8} {'wall':>7} {'target':>9}  result   (CPU-time ratio, for information)")
    print(f"{ratio_line('a/b', a / b, TARGET_A_OVER_B)}     ({cpu_a / cpu_b:.3f})")
    print(f"{ratio_line('a/c', a / c, TARGET_A_OVER_C)}     ({cpu_a / cpu_c:.3f})")
    print_floor(setup, timings, savable_cpu)
    print_contention(timings)


def print_floor(setup: Setup, timings: Timings, savable_cpu: float) -> None:
    """What one pass can save at most, in CPU time: the decodes and audio encodes (c) repeats. Where
    both sides keep every core busy, the wall ratio a/c cannot go much below this CPU-time floor."""
    cores = os.cpu_count() or 1
    repeats = len(setup.renditions) - 1
    cpu_c = timings.median("c", "cpu")
    floor = max(0.0, cpu_c - repeats * savable_cpu) / cpu_c
    busy = ", ".join(f"{v} {timings.median(v, 'cpu') / timings.median(v):.2f}" for v in VARIANTS)
    print()
    print(f"cores busy (CPU s / wall s, of {cores}): {busy}")
    print(f"one decode + audio encode of the source: {savable_cpu:.2f} s CPU; (c) repeats it {repeats} more time(s),")
    print(f"so one pass can save at most {repeats * savable_cpu:.2f} of (c)'s {cpu_c:.2f} s CPU: a/c floor in CPU")
    print(f"time {floor:.3f} (the rest is encoding every rung, which any way of making the ladder must do)")


def variant_line(setup: Setup, timings: Timings, variant: str) -> str:
    wall, cpu = timings.median(variant), timings.median(variant, "cpu")
    others = timings.others(variant)
    others_text = "n/a" if others is None else f"{others:.2f}"
    size_mb = timings.median(variant, "size") / 1e6
    return f"{LABELS[variant]:<40} {wall:8.2f} {wall / setup.duration:9.3f} {cpu:8.2f} {others_text:>9} {size_mb:10.1f}"


def print_contention(timings: Timings) -> None:
    """Say so when other processes took a real share of the cores: the wall ratios are then skewed."""
    cores = os.cpu_count() or 1
    for variant in VARIANTS:
        others = timings.others(variant)
        share = 0.0 if others is None else others / (timings.median(variant) * cores)
        if share > CONTENTION_SHARE:
            print(
                f"WARNING: other processes used {share:.0%} of the machine's CPU during {variant}: "
                "its wall time is inflated; rerun on an idle machine or with --repeat"
            )
