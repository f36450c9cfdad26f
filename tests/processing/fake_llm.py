"""A loopback server that speaks the chat-completions API, scripted per test, and the transcripts and
replies the "openai" backend's tests share; the fixtures (fake_llm, server, delays) are in conftest.py.
Nothing in our code or the SDK is patched; only the retry sleep (llm._sleep) is recorded instead of waited.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from processing.analysis.extractive import Item, Segment

# --- the fake chat-completions server ----------------------------------------------------------------------


@dataclass
class Reply:
    """One scripted answer: a chat completion carrying `content`, or an error `status` with `body`."""

    status: int = 200
    content: str | None = None
    body: Any = None  # replaces the chat.completion envelope (JSON-encoded unless bytes)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering, to provoke client timeouts or overlap
    usage: tuple[int, int] = (100, 20)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def system(self) -> str:
        return str(self.body["messages"][0]["content"])

    @property
    def user(self) -> str:
        """The last user message: the transcript chunk (after the worked example) or a repair request."""
        return str([m for m in self.body["messages"] if m["role"] == "user"][-1]["content"])


class FakeLLM:
    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.default: Reply | None = None  # answered once the script runs out
        self.requests: list[Received] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        self.base_url = ""

    def script(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def take(self, received: Received) -> Reply:
        with self.lock:
            self.requests.append(received)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            if self.replies:
                return self.replies.popleft()
            return self.default or Reply(418, body={"error": {"message": "the fake LLM has no scripted reply"}})

    def done(self) -> None:
        with self.lock:
            self.in_flight -= 1


class FakeServer(ThreadingHTTPServer):
    fake: FakeLLM


class FakeHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        fake = self.server.fake  # type: ignore[attr-defined]
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        reply = fake.take(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, json.loads(raw)))
        try:
            time.sleep(reply.delay)
        finally:
            # Counted out before answering: the client can only send its next request after this answer,
            # so a request seen while another is counted really overlapped it.
            fake.done()
        data, content_type = _encode(reply, model=json.loads(raw).get("model", ""))
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out and hung up; that is what timeout tests want

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep pytest output clean


def _encode(reply: Reply, *, model: str) -> tuple[bytes, str]:
    if isinstance(reply.body, bytes):
        return reply.body, "text/html"
    if reply.body is not None:
        return json.dumps(reply.body).encode(), "application/json"
    if reply.status != 200:
        return json.dumps(
            {"error": {"message": f"scripted {reply.status}", "type": "test"}}
        ).encode(), "application/json"
    prompt, completion = reply.usage
    payload = {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.content},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
    }
    return json.dumps(payload).encode(), "application/json"


LLM_SETTINGS: dict[str, Any] = {
    "ANALYSIS_BACKEND": "openai",
    "OPENAI_API_KEY": "",
    "ANALYSIS_LLM_MODEL": "test-model",
    "ANALYSIS_LLM_TIMEOUT": 5.0,
    "ANALYSIS_LLM_MAX_RETRIES": 2,
    "ANALYSIS_LLM_MAX_CONCURRENCY": 2,
    "ANALYSIS_LLM_CONTEXT_CHARS": 24000,
    "ANALYSIS_SUMMARY_SENTENCES": 3,
    "ANALYSIS_LANGUAGE": "",
    "ANALYSIS_LLM_CHUNK_SEGMENTS": 15,
    "ANALYSIS_LLM_DECODING": None,
    "ANALYSIS_LLM_RESPONSE_FORMAT": "json_schema",
}


# --- transcripts and replies -------------------------------------------------------------------------------


def _seg(start: float, end: float, text: str) -> Segment:
    return {"start": start, "end": end, "text": text}


def _item(text: str, start: float, end: float) -> Item:
    return {"text": text, "start": start, "end": end}


EN_SEGMENTS = [
    _seg(0.0, 4.0, "Good morning, thanks for joining."),
    _seg(4.0, 9.5, "The mobile release is delayed because payments keep failing."),
    _seg(9.5, 15.0, "We should move payments to the new provider."),
    _seg(15.0, 20.0, "Maria will profile the checkout flow next week."),
]
JA_SEGMENTS = [
    _seg(0.0, 3.0, "皆さん、おはようございます。"),
    _seg(3.0, 7.5, "新機能のリリースが二週間遅れています。"),
    _seg(7.5, 12.0, "来月までに新しいサーバーを導入する予定です。"),
]


def _cite(text: str, *lines: int) -> dict[str, Any]:
    """An item as the model writes it: its text and the numbers of the lines ("[n] text") it rests on."""
    return {"text": text, "segments": list(lines)}


# What the model cites (line numbers of EN_SEGMENTS) and what the backend makes of it (the lines' times).
CITED_SUMMARY = [_cite("The release slipped because payments fail.", 2)]
CITED_ISSUES = [_cite("Payments keep failing.", 2)]
CITED_SOLUTIONS = [_cite("Move payments to the new provider.", 3)]
SUMMARY = [_item("The release slipped because payments fail.", 4.0, 9.5)]
ISSUES = [_item("Payments keep failing.", 4.0, 9.5)]
SOLUTIONS = [_item("Move payments to the new provider.", 9.5, 15.0)]


def _content(
    summary: list[dict[str, Any]] = CITED_SUMMARY,
    issues: list[dict[str, Any]] = CITED_ISSUES,
    solutions: list[dict[str, Any]] = CITED_SOLUTIONS,
) -> str:
    return json.dumps({"summary": summary, "issues": issues, "solutions": solutions})


GOOD = Reply(content=_content())
