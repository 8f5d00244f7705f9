"""A real OpenAI-compatible HTTP server for tests, serving the built-in tiny model.

It speaks the two endpoints the pilot uses (``GET /v1/models``, ``POST /v1/chat/completions``)
over real sockets on 127.0.0.1, so the ``openai`` client, retries, timeouts and concurrency
are exercised end to end. ``Control`` switches failure modes while it runs:
``fail_next`` answers that many chat requests with ``fail_status`` first (then succeeds),
``always_status`` answers every chat request with that status, ``delay_s`` sleeps before
answering (``slow_next`` limits it to the next N requests). Every request is recorded
(path, Authorization header, body) so tests can check what the client sent.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Control:
    fail_next: int = 0
    fail_status: int = 500
    always_status: int | None = None
    delay_s: float = 0.0
    slow_next: int | None = None  # None = every request is slow while delay_s > 0
    report_usage: bool = True
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    closing: threading.Event = field(default_factory=threading.Event)

    def reset(self) -> None:
        with self.lock:
            self.fail_next, self.fail_status, self.always_status = 0, 500, None
            self.delay_s, self.slow_next, self.report_usage = 0.0, None, True
            self.requests.clear()

    def chat_requests(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.requests if r["path"].endswith("/chat/completions")]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:  # noqa: ANN001
        """A client that timed out closed its socket: nothing to report."""


def _handler(generator: Any, model_name: str, control: Control, gen_lock: threading.Lock):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            body = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def _record(self, body: Any) -> None:
            with control.lock:
                control.requests.append(
                    {"path": self.path, "auth": self.headers.get("Authorization"), "body": body}
                )

        def do_GET(self) -> None:  # noqa: N802
            self._record(None)
            if self.path.rstrip("/").endswith("/models"):
                self._send(
                    200,
                    {
                        "object": "list",
                        "data": [
                            {
                                "id": model_name,
                                "object": "model",
                                "created": 0,
                                "owned_by": "advisor-tests",
                                "max_model_len": generator.context_length,
                            }
                        ],
                    },
                )
            else:
                self._send(404, {"error": {"message": f"no route {self.path}"}})

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            self._record(body)
            if not self.path.endswith("/chat/completions"):
                self._send(404, {"error": {"message": f"no route {self.path}"}})
                return
            with control.lock:
                status = control.always_status
                if status is None and control.fail_next > 0:
                    control.fail_next -= 1
                    status = control.fail_status
                delay = control.delay_s
                if delay and control.slow_next is not None:
                    if control.slow_next > 0:
                        control.slow_next -= 1
                    else:
                        delay = 0.0
                usage = control.report_usage
            if status is not None:
                self._send(
                    status,
                    {"error": {"message": f"test server says {status}", "type": "server_error"}},
                )
                return
            if delay and control.closing.wait(delay):
                return
            if body.get("model") != model_name:
                self._send(404, {"error": {"message": f"model {body.get('model')!r} not found"}})
                return
            messages = body.get("messages") or []
            system = "\n".join(m["content"] for m in messages if m["role"] == "system")
            user = "\n".join(m["content"] for m in messages if m["role"] != "system")
            max_tokens = int(body.get("max_tokens") or 16)
            with gen_lock:  # one generation at a time: the tiny model is not thread-safe
                prompt = generator.format_prompt(system, user)
                result = generator.generate([prompt], max_new_tokens=max_tokens)[0]
            payload: dict[str, Any] = {
                "id": f"chatcmpl-{len(control.requests)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model_name,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": result.text},
                        "finish_reason": "stop",
                    }
                ],
            }
            if usage:
                payload["usage"] = {
                    "prompt_tokens": result.prompt_tokens,
                    "completion_tokens": result.output_tokens,
                    "total_tokens": result.prompt_tokens + result.output_tokens,
                }
            self._send(200, payload)

    return Handler


@contextmanager
def serve(generator: Any, model_name: str = "tiny-served") -> Iterator[tuple[str, Control]]:
    """Serve ``generator`` on a free port; yields (base URL ending in /v1, control)."""
    control = Control()
    server = _Server(("127.0.0.1", 0), _handler(generator, model_name, control, threading.Lock()))
    thread = threading.Thread(target=server.serve_forever, name="openai-test-server", daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host}:{port}/v1", control
    finally:
        control.closing.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def serve_builtin(model_name: str = "tiny-served") -> Iterator[tuple[str, Control]]:
    """The built-in offline model (``builtin:tiny``) behind the endpoint."""
    from advisor.models.hf import load_generator

    with serve(load_generator("builtin:tiny"), model_name) as running:
        yield running
