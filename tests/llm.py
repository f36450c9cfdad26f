"""`manage.py llm_server` as a child process on a free port, for the tests and bench.analysis: it is
ready once it prints "llm: serving" (the model is loaded by then); its peak RSS comes from /proc."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.stack import free_port

ROOT = Path(__file__).resolve().parent.parent


class ModelServer:
    def __init__(self, timeout: float = 300, port: int = 0, **env: str) -> None:
        self.port = port or free_port()
        started = time.monotonic()
        environment = {**os.environ, **env, "LLM_PORT": str(self.port)}
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "llm_server"], cwd=ROOT, env=environment, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        deadline = started + timeout
        while not any("llm: serving" in line for line in self.lines):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"llm_server did not serve within {timeout:.0f} s: {self.lines}")
            time.sleep(0.2)
        self.load_seconds = time.monotonic() - started

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def peak_rss_mb(self) -> float:
        with open(f"/proc/{self.process.pid}/status") as fh:
            fields = dict(line.split(":", 1) for line in fh if ":" in line)
        return int(fields["VmHWM"].split()[0]) / 1024

    def stop(self) -> int:
        """SIGTERM, as compose and Ctrl-C stop it; the exit status."""
        os.killpg(self.process.pid, signal.SIGTERM)
        return self.process.wait(timeout=60)

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
