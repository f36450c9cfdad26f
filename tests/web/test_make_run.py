"""`make run` as a person runs it: scripts/run.sh, unchanged, in a copy of the checkout (no var/, no
media/, no .env) with the environment of a login shell and ports of its own. It starts its own
redis-server, processes the sample video and prints the admin login; a real Chromium logs in with
that login and watches the sample play (tests/web/play_check.js). Then Ctrl-C (SIGINT to the
script's process group) must stop everything it started: the worker and its pool, Beat, runserver
and its autoreloader child, and the redis-server. Whatever fails, nothing is left running, and the
copy's logs are kept in test-artifacts/make-run/."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ARTIFACTS, ROOT
from tests.stack import free_port
from tests.web.conftest import CHROMIUM

pytestmark = pytest.mark.e2e

PLAY_CHECK = Path(__file__).with_name("play_check.js")
KEPT = ARTIFACTS / "make-run"
START_TIMEOUT = 420  # migrations, the sample and its whole pipeline on a busy 2-core machine
STOP_TIMEOUT = 90  # run.sh gives the worker 20 s of warm shutdown, then kills what is left
ADMIN_LINE = re.compile(r"^run: admin at (http://127\.0\.0\.1:(\d+))/admin/ \(user (\S+) password (\S+)\)$")
STAGE_LINE = re.compile(r"^ {2}(Transcription|Speakers|AI analysis|HLS) +(\S.*)$")
# What a person's shell passes on; everything else in os.environ here (DJANGO_SETTINGS_MODULE,
# DATABASE_URL, DJANGO_MEDIA_ROOT, TEST_WORKER_DB_NAME, PYTEST_*, ...) is the test run's.
SHELL_ENV = {"PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TERM", "TZ", "TMPDIR"}


def shell_environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in SHELL_ENV or k.startswith("LC_")}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    return {**env, **extra}


def copy_checkout(dest: Path) -> None:
    """Tracked files plus untracked ones git does not ignore, as a fresh clone with local edits; the
    repository's .venv and node_modules are linked in (what `make run` would install)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode()  # fmt: skip
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if not source.is_symlink() and not source.exists():
            continue  # deleted in the working tree, not yet in the index
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)
    for linked in (".venv", "node_modules"):
        (dest / linked).symlink_to(ROOT / linked)


@dataclass(frozen=True)
class Proc:
    pid: int
    state: str
    cwd: str
    cmdline: str

    def __str__(self) -> str:
        return f"{self.pid} [{self.state}] cwd={self.cwd} {self.cmdline}"


def processes_under(root: Path) -> list[Proc]:
    """Every live process whose working directory or command line is under `root` (zombies aside)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            try:
                cwd = os.readlink(entry / "cwd")
            except OSError:
                cwd = ""
        except (OSError, IndexError):
            continue  # gone meanwhile
        inside = cwd == str(root) or cwd.startswith(f"{root}/") or str(root) in cmdline
        if inside and state != "Z":
            found.append(Proc(int(entry.name), state, cwd, cmdline))
    return found


def accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class RunScript:
    """`bash scripts/run.sh` in its own session, as a terminal runs it: its output read line by line."""

    def __init__(self, app: Path, env: dict[str, str]) -> None:
        self.app = app
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            ["bash", "scripts/run.sh"], cwd=app, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, errors="replace", start_new_session=True,
        )  # fmt: skip
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for_line(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        seen = 0
        while time.monotonic() < deadline:
            for line in self.lines[seen:]:
                seen += 1
                if match := pattern.match(line):
                    return match
            if self.process.poll() is not None and not self.reader.is_alive():
                raise AssertionError(f"run.sh exited {self.process.returncode} before printing {pattern.pattern}")
            time.sleep(0.2)
        raise AssertionError(f"run.sh printed no line like {pattern.pattern} within {timeout:.0f} s")

    def kill_everything(self) -> None:
        """The teardown: whatever run.sh or its children left, killed."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        for proc in processes_under(self.app):
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
        self.reader.join(timeout=10)

    def keep_logs(self) -> None:
        KEPT.mkdir(parents=True, exist_ok=True)
        (KEPT / "run.sh.out").write_text(self.output() + "\n")
        for log in (self.app / "var").glob("*.log"):
            shutil.copy2(log, KEPT / log.name)


def play_sample(base_url: str, username: str, password: str) -> tuple[dict[str, object], str]:
    """tests/web/play_check.js against the first upload on the list: its JSON report and step log."""
    env = {
        **os.environ,
        "BASE_URL": base_url,
        "USERNAME": username,
        "PASSWORD": password,
        "CHROMIUM": CHROMIUM,
        "SCREENSHOT": str(KEPT / "detail.png"),
    }
    run = subprocess.run(["node", str(PLAY_CHECK)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    lines = run.stdout.strip().splitlines()
    assert lines, f"play_check.js exited {run.returncode} without a report:\n{run.stderr}"
    return json.loads(lines[-1]), run.stderr


def test_make_run_serves_the_processed_sample_and_ctrl_c_stops_everything(
    browser_installed: None, tmp_path: Path
) -> None:
    app = (tmp_path / "app").resolve()
    copy_checkout(app)
    port, redis_port, llm_port = free_port(), free_port(), free_port()
    assert len({port, redis_port, llm_port}) == 3
    shutil.rmtree(KEPT, ignore_errors=True)
    KEPT.mkdir(parents=True)
    env = shell_environment(
        PORT=str(port), CELERY_BROKER_URL=f"redis://127.0.0.1:{redis_port}/0", LLM_PORT=str(llm_port)
    )

    started = time.monotonic()
    run = RunScript(app, env)
    passed = False
    try:
        admin = run.wait_for_line(ADMIN_LINE, START_TIMEOUT)
        ready_after = time.monotonic() - started
        base_url, printed_port, username, password = admin.groups()
        assert int(printed_port) == port
        output = run.output()
        assert f"ensure_redis: starting redis-server on 127.0.0.1:{redis_port}" in output
        stages = [m.groups() for m in map(STAGE_LINE.match, output.splitlines()) if m]
        print(f"\nrun.sh printed the admin line after {ready_after:.0f} s; process_file stages:")
        print("\n".join(f"  {stage:<14} {state}" for stage, state in stages))
        final = {stage: state for stage, state in stages}
        assert final == dict.fromkeys(("Transcription", "Speakers", "AI analysis", "HLS"), "succeeded"), output

        deadline = time.monotonic() + 60
        while not accepts_connections(port):
            assert time.monotonic() < deadline, f"runserver does not listen on {port}:\n{run.output()}"
            assert run.process.poll() is None, f"run.sh exited {run.process.returncode}:\n{run.output()}"
            time.sleep(0.2)

        report, steps = play_sample(base_url, username, password)
        print(steps)

        # Ctrl-C: everything run.sh started is there now, and nothing of it after.
        before = processes_under(app)
        print("before Ctrl-C:\n" + "\n".join(f"  {p}" for p in before))
        commands = [p.cmdline for p in before]
        assert sum(" worker " in c for c in commands) >= 2, commands  # the worker and its pool
        assert any(" beat " in c for c in commands), commands
        assert sum("manage.py runserver" in c for c in commands) >= 2, commands  # autoreloader + server
        assert any(c.startswith("redis-server") for c in commands), commands
        assert any("manage.py llm_server" in c for c in commands), commands  # the local language model
        assert f"run: llm: serving qwen2.5-1.5b at http://127.0.0.1:{llm_port}/v1" in output
        assert accepts_connections(redis_port)

        os.killpg(run.process.pid, signal.SIGINT)
        interrupted = time.monotonic()
        returncode = run.process.wait(timeout=STOP_TIMEOUT)
        print(f"run.sh exited {returncode} {time.monotonic() - interrupted:.1f} s after SIGINT")
        left = processes_under(app)
        assert left == [], "still running after Ctrl-C:\n" + "\n".join(map(str, left))
        assert not accepts_connections(redis_port), "the redis-server run.sh started still answers"
        assert not accepts_connections(port), "the web port still accepts connections"
        assert returncode == 130, run.output()[-3000:]

        # What the browser saw, judged after the Ctrl-C checks so that those run whatever it saw.
        player, poster = report["player"], report["poster"]
        assert isinstance(player, dict)
        assert isinstance(poster, dict), report["failures"]
        assert report["failures"] == [], report
        assert player["playedTo"] > player["playedFrom"], player
        assert player["subtitleTracks"] >= 1, player
        shown = report["content"]["shown"]  # type: ignore[index]
        assert shown is not None, report["content"]  # the subtitle track's cues loaded and are shown
        assert shown["language"] == "en", shown
        assert shown["firstCue"], shown
        # The sample is two voices, and the page says who said what.
        speakers, transcript = report["content"]["speakers"], report["content"]["transcript"]  # type: ignore[index]
        assert speakers is not None, report["content"]
        assert "Speaker 1" in speakers["text"], speakers
        assert "Speaker 2" in speakers["text"], speakers
        assert "Speaker 3" not in speakers["text"], speakers
        lines = [line for line in transcript["text"].splitlines() if re.match(r"\d\d:\d\d", line)]
        assert {line.split(" Speaker ")[1][:1] for line in lines if " Speaker " in line} == {"1", "2"}, lines
        # The analysis was written by the local model, and its items carry their times.
        analysis = report["content"]["analysis"]  # type: ignore[index]
        assert "Written by the language model qwen2.5-1.5b on this server" in analysis["text"], analysis
        assert re.search(r"\b\d\d:\d\d\b", analysis["text"]), analysis  # "00:12 Hire two more drivers..."
        assert poster["status"] == 200, poster
        assert str(poster["contentType"]).startswith("image/jpeg"), poster
        assert report["problems"] == [], report["problems"]
        passed = True
    finally:
        run.kill_everything()
        if not passed:
            run.keep_logs()
        print(f"test took {time.monotonic() - started:.0f} s")


def test_make_run_stops_and_says_why_when_the_language_model_server_cannot_start(tmp_path: Path) -> None:
    app = (tmp_path / "app").resolve()
    copy_checkout(app)
    redis_port = free_port()
    env = shell_environment(
        PORT=str(free_port()), CELERY_BROKER_URL=f"redis://127.0.0.1:{redis_port}/0", LLM_PORT=str(free_port()),
        ANALYSIS_BACKEND="local", LLM_MODEL="/nowhere/model.gguf",
    )  # fmt: skip
    run = RunScript(app, env)
    try:
        returncode = run.process.wait(timeout=START_TIMEOUT)
        run.reader.join(timeout=10)
        output = run.output()
        print(output[-2000:])
        assert returncode == 1, output[-3000:]
        assert "run: the language model server did not start; var/llm.log says:" in output
        assert "LLM_MODEL='/nowhere/model.gguf' is neither a model this project installs" in output
        assert "run: admin at" not in output  # no sample, no pages: nothing half-started is left running
        assert processes_under(app) == []
        assert not accepts_connections(redis_port)
    finally:
        run.kill_everything()
