"""A scripted OpenAI-compatible chat server for tests: canned replies, every request recorded.

Each POST /v1/chat/completions takes the next queued reply (content, tool calls, an HTTP error,
optionally after a delay). Requests are recorded when they arrive, before any delay, so a test
can count the attempts of a client that timed out.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


@dataclass
class Scripted:
    """One canned reply."""

    content: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    delay: float = 0.0
    usage: dict[str, int] | None = None


class ScriptedLlmServer:
    """Serves queued replies on a free 127.0.0.1 port from a background thread."""

    def __init__(self, model: str = "scripted-model") -> None:
        self.model = model
        self.requests: list[dict[str, Any]] = []
        self._queue: deque[Scripted] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._ids = itertools.count(1)
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        config = uvicorn.Config(self._app(), log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def enqueue(
        self,
        content: str | None = None,
        *,
        tool_calls: list[dict[str, Any]] | None = None,
        status: int = 200,
        delay: float = 0.0,
        usage: dict[str, int] | None = None,
    ) -> None:
        """Queue a reply. `tool_calls` items are {"name": ..., "arguments": {...}}; `usage`
        is {"prompt_tokens": n, "completion_tokens": m} (left out of the reply when None)."""
        reply = Scripted(content, list(tool_calls or []), status, delay, usage)
        with self._lock:
            self._queue.append(reply)

    def enqueue_json(self, answer: Any, **options: Any) -> None:
        self.enqueue(json.dumps(answer), **options)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def start(self) -> ScriptedLlmServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the scripted LLM server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def complete(request: Request) -> JSONResponse:
            body = await request.json()
            with self._lock:
                self.requests.append(body)
                reply = self._queue.popleft() if self._queue else None
            if reply is None:
                # 400 is not retried: a test that queued too few replies fails at once.
                return JSONResponse({"error": {"message": "no scripted reply queued"}}, 400)
            await self._sleep(reply.delay)
            if reply.status != 200:
                error = {"error": {"message": f"scripted HTTP {reply.status}", "type": "server"}}
                # A short retry-after keeps client retries fast in tests.
                return JSONResponse(error, reply.status, headers={"retry-after-ms": "10"})
            return JSONResponse(self._completion(reply))

        return app

    async def _sleep(self, seconds: float) -> None:
        """Sleep in small steps so stopping the server never waits on a slow reply."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not self._stopping.is_set():
            await asyncio.sleep(0.02)

    def _completion(self, reply: Scripted) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.content}
        if reply.tool_calls:
            message["tool_calls"] = [
                {
                    "id": f"call_{next(self._ids)}",
                    "type": "function",
                    "function": {"name": call["name"], "arguments": _arguments(call)},
                }
                for call in reply.tool_calls
            ]
        body: dict[str, Any] = {
            "id": f"chatcmpl-{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if reply.tool_calls else "stop",
                }
            ],
        }
        if reply.usage is not None:
            prompt, completion = reply.usage["prompt_tokens"], reply.usage["completion_tokens"]
            body["usage"] = {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            }
        return body


def _arguments(call: dict[str, Any]) -> str:
    """Arguments as the API sends them: a JSON string (a raw string passes through, so a test
    can send unparseable arguments)."""
    arguments = call.get("arguments", {})
    return arguments if isinstance(arguments, str) else json.dumps(arguments)
