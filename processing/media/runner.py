"""The one place that runs ffmpeg/ffprobe: typed errors, progress, and no orphaned processes.

An ffmpeg stopped by a signal exits 255 and leaves a valid-looking, truncated playlist, and
`revoke(terminate=True)` kills the pool child without running its cleanup. So ffmpeg runs in its
own process group with a parent-death signal, and every way out of `run_ffmpeg` kills that group.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import logging
import os
import re
import selectors
import signal
import subprocess
import time
from collections.abc import Callable, Sequence

logger = logging.getLogger(__name__)

STDERR_TAIL_LINES = 20
STDERR_KEEP_BYTES = 64 * 1024
_PR_SET_PDEATHSIG = 1


class MediaToolError(Exception):
    """ffmpeg or ffprobe failed; `line` is the most telling stderr line, `tail` the last lines."""

    def __init__(self, message: str, *, returncode: int | None = None, tail: str = "", line: str = "") -> None:
        super().__init__(message)
        self.returncode = returncode
        self.tail = tail
        self.line = line or message


class StalledError(MediaToolError):
    """ffmpeg reported no progress for longer than the stall limit and was killed."""


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: SIGKILL ffmpeg when the worker process dies.
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _spawn(args: Sequence[str]) -> subprocess.Popen[bytes]:
    """ffmpeg/ffprobe in its own process group (so every way out can kill the group), dying with us."""
    return subprocess.Popen(
        list(args),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


_ERROR_MARKERS = (
    "error", "failed", "cannot", "invalid", "no such", "unsupported", "not found", "no capable", "unable",
    "not on whitelist", "exceeds",
)  # fmt: skip
FIRST_ERRORS_KEPT = 5


# ffmpeg's informational lines quote file names, which may contain any word.
_INFO_PREFIXES = ("Input #", "Output #", "Stream #", "Duration:", "Stream mapping", "Metadata:", "Press [q]")


def is_error_line(line: str) -> bool:
    line = line.strip()
    return not line.startswith(_INFO_PREFIXES) and any(marker in line.lower() for marker in _ERROR_MARKERS)


_CONTEXT = re.compile(r"\[([^\]@]+?) @ (?:0x)?[0-9a-f]+\]\s*")


def plain_context(line: str) -> str:
    """ffmpeg's "[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55d1c0a2b4c0] " prefix as "mov: " (no memory address)."""
    return _CONTEXT.sub(lambda m: m.group(1).split(",")[0] + ": ", line)


def error_line(stderr: str) -> str:
    """The line an operator should see: the first line naming an error, else the last line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        if is_error_line(line):
            return line
    return lines[-1] if lines else ""


class OutputTooLarge(MediaToolError):
    """The tool wrote more to stdout than the caller's cap; it was killed."""


def run_tool(args: Sequence[str], *, timeout: float = 60, max_output: int | None = None) -> str:
    """Run a short ffprobe/ffmpeg command and return its stdout; raise MediaToolError on failure.
    With `max_output`, the tool is killed (OutputTooLarge) as soon as its stdout passes that many bytes,
    so a crafted file cannot make this process hold an unbounded probe."""
    proc = _spawn(args)
    assert proc.stdout is not None
    assert proc.stderr is not None
    out, err = bytearray(), bytearray()
    deadline = time.monotonic() + timeout
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ, out)
    sel.register(proc.stderr, selectors.EVENT_READ, err)
    try:
        while sel.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                raise MediaToolError(f"{args[0]} timed out after {timeout:.0f} s")
            for key, _ in sel.select(timeout=min(left, 1.0)):
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    sel.unregister(key.fileobj)
                    continue
                if key.data is err and len(err) > STDERR_KEEP_BYTES:
                    continue  # keep the first errors; the rest is noise
                key.data.extend(chunk)
                if max_output is not None and key.data is out and len(out) > max_output:
                    raise OutputTooLarge(f"{args[0]} wrote more than {max_output} bytes; killed")
        proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired as exc:
        raise MediaToolError(f"{args[0]} timed out after {timeout:.0f} s") from exc
    finally:
        sel.close()
        _kill_group(proc)
        proc.stdout.close()
        proc.stderr.close()
    stderr = err.decode(errors="replace")
    if proc.returncode != 0:
        line = error_line(stderr)
        raise MediaToolError(
            f"{args[0]} exited {proc.returncode}: {line}", returncode=proc.returncode, tail=stderr[-2000:], line=line
        )
    return out.decode(errors="replace")


def run_ffmpeg(
    args: Sequence[str],
    *,
    on_progress: Callable[[float], None] | None = None,
    stall_seconds: float = 120,
) -> None:
    """Run ffmpeg with `-progress pipe:1` in `args`; report seconds encoded; kill it on any exit path."""
    proc = _spawn(args)
    tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
    first: list[str] = []  # the first lines naming an error, wherever they fall: usually the cause
    try:
        _pump(proc, tail, first, on_progress, stall_seconds)
    finally:
        _kill_group(proc)
    stderr = "\n".join([*first, *tail])
    if proc.returncode != 0:
        line = error_line(stderr)
        raise MediaToolError(
            f"ffmpeg exited {proc.returncode}: {line}", returncode=proc.returncode, tail=stderr, line=line
        )


def _pump(
    proc: subprocess.Popen[bytes],
    tail: collections.deque[str],
    first: list[str],
    on_progress: Callable[[float], None] | None,
    stall_seconds: float,
) -> None:
    assert proc.stdout is not None
    assert proc.stderr is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ, "out")
    sel.register(proc.stderr, selectors.EVENT_READ, "err")
    buffers = {"out": b"", "err": b""}
    last_progress_at = time.monotonic()
    last_out_time = -1.0
    while sel.get_map():
        for key, _ in sel.select(timeout=1.0):
            chunk = os.read(key.fd, 65536)
            if not chunk:
                sel.unregister(key.fileobj)
                continue
            *lines, buffers[key.data] = (buffers[key.data] + chunk).split(b"\n")
            for raw in lines:
                line = raw.decode(errors="replace").strip()
                if key.data == "err":
                    if line:
                        tail.append(line)
                        if len(first) < FIRST_ERRORS_KEPT and is_error_line(line):
                            first.append(line)
                elif line.startswith("out_time_us=") and line[12:].lstrip("-").isdigit():
                    seconds = max(0.0, int(line[12:]) / 1e6)
                    if seconds > last_out_time:
                        last_out_time, last_progress_at = seconds, time.monotonic()
                        if on_progress is not None:
                            on_progress(seconds)
        if time.monotonic() - last_progress_at > stall_seconds:
            _kill_group(proc)
            raise StalledError(f"ffmpeg stalled: no progress for {stall_seconds:.0f} s; killed", tail="\n".join(tail))
    proc.wait()
