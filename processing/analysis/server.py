"""The local language model server: llama.cpp's own OpenAI-compatible HTTP server (the xllamacpp wheel)
on a GGUF model, run as a process of its own (`manage.py llm_server`).

xllamacpp.Server binds the port first (/health answers 503 "Loading model"), loads the model, and
returns once it serves (/health 200); the constructor raises RuntimeError when the model cannot be
loaded. It holds the GIL while loading and starts native threads, so it never runs inside a web or
worker process (nor before a fork). After loading, llama.cpp installs its own SIGINT/SIGTERM
handlers, which would stop its loop but not this process: ours are installed again, and a signal
stops the server (the object's destructor joins its threads) and returns.

No Django here: the options come from the management command.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType


class ServerError(Exception):
    """The model server cannot start; the message says why."""


@dataclass(frozen=True)
class ServerOptions:
    model: str  # a .gguf file
    host: str = "127.0.0.1"
    port: int = 8091  # 0 = any free port (the ready callback gets the address)
    context: int = 4096  # tokens of context per slot (the model's own maximum when larger)
    threads: int = 0  # 0 = llama.cpp's choice (the machine's cores)
    parallel: int = 1  # requests decoded at once; each gets `context` tokens
    api_key: str = ""  # empty = no key (the server listens on loopback or a private network)
    verbosity: int = 2  # llama.cpp's log level: 0 silences even errors, 3 logs every request


def serve(
    options: ServerOptions,
    *,
    ready: Callable[[str], None] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM (or `stop` is set). `ready` gets the base address once it serves."""
    import xllamacpp  # llama.cpp (100 MB of native code): only in the server process

    params = xllamacpp.CommonParams()
    params.model.path = options.model
    params.hostnames = [options.host]
    params.port = options.port
    params.n_ctx = options.context * options.parallel  # llama.cpp splits n_ctx between the slots
    params.n_parallel = options.parallel
    if options.threads > 0:
        params.cpuparams.n_threads = options.threads
        params.cpuparams_batch.n_threads = options.threads
    if options.api_key:
        params.api_keys = [options.api_key]
    params.ui = False  # no web UI at /: this is an API for the analysis stage
    params.cache_ram_mib = 0  # no prompt cache across requests: each transcript is new
    params.verbosity = options.verbosity
    stop = stop or threading.Event()
    try:
        server = xllamacpp.Server(params)
    except RuntimeError as exc:
        raise ServerError(f"llama.cpp could not load {options.model}: {exc}") from exc

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)  # taken back from llama.cpp
    try:
        if ready is not None:
            ready(str(server.listening_address))
        while not stop.wait(1.0):
            pass
    finally:
        del server  # stops the HTTP server and the decoding loop, joins their threads
