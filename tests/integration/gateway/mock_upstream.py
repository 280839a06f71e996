"""A small OpenAI-compatible mock upstream for the gateway tests: real aiohttp server on
127.0.0.1, switchable failure modes, and its own log of every request it received (the ground
truth for "no disallowed upstream was called")."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

MODES = ("ok", "hang", "500", "429", "malformed", "empty", "schema_bad", "midstream", "slow")


@dataclass
class Received:
    model: str
    request_id: str | None
    user: str | None
    stream: bool
    max_tokens: int | None
    at: float = field(default_factory=time.monotonic)
    probe: bool = False  # X-Govchaos-Probe: 1 (the gateway's own health probe, no client data)


class MockUpstream:
    def __init__(self, name: str, *, content: str = '{"answer": "ok"}') -> None:
        self.name = name
        self.content = content
        self.mode = "ok"
        self.retry_after = "2"
        self.delay_s = 0.0
        # the answer's usage (non-streaming body, and the usage chunk of a stream asked for with
        # stream_options.include_usage); None: answers carry no usage
        self.usage: dict[str, int] | None = {"prompt_tokens": 1, "completion_tokens": 1,
                                             "total_tokens": 2}
        self.log: list[Received] = []
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def start(self) -> "MockUpstream":
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        if not self.port:
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        """Kill: close the listening socket and every open connection."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.log.append(Received(
            model=body.get("model"), request_id=request.headers.get("X-Govchaos-Request-Id"),
            user=body.get("user"), stream=bool(body.get("stream")), max_tokens=body.get("max_tokens"),
            probe=request.headers.get("X-Govchaos-Probe") == "1",
        ))
        mode = self.mode
        if mode == "hang":
            await asyncio.sleep(10)
        if mode == "slow":
            await asyncio.sleep(self.delay_s)
        if mode == "500":
            return web.json_response({"error": {"message": "boom"}}, status=500)
        if mode == "429":
            return web.json_response({"error": {"message": "slow down"}}, status=429,
                                     headers={"Retry-After": self.retry_after})
        if mode == "malformed":
            return web.Response(body=b'{"choices": [', content_type="application/json")
        content = {"empty": "", "schema_bad": '{"wrong": 1}'}.get(mode, self.content)
        if body.get("stream"):
            return await self._stream(request, body, content, midstream=mode == "midstream")
        return web.Response(body=orjson.dumps(self._completion(body["model"], content)),
                            content_type="application/json")

    def _completion(self, model: str, content: str) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "id": f"cmpl-{self.name}", "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                         "finish_reason": "stop"}],
        }
        if self.usage is not None:
            doc["usage"] = self.usage
        return doc

    async def _stream(self, request: web.Request, body: dict, content: str, *,
                      midstream: bool) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)

        def chunk(delta: dict, finish: str | None = None) -> bytes:
            doc = {"id": f"cmpl-{self.name}", "object": "chat.completion.chunk", "created": 0,
                   "model": body["model"],
                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
            return b"data: " + orjson.dumps(doc) + b"\n\n"

        await resp.write(chunk({"role": "assistant"}))
        pieces = [content[i:i + 4] for i in range(0, len(content), 4)]
        for i, piece in enumerate(pieces):
            await resp.write(chunk({"content": piece}))
            if midstream and i == 0:
                await asyncio.sleep(0.05)
                # drop the connection without [DONE]
                request.transport.close()  # type: ignore[union-attr]
                return resp
        await resp.write(chunk({}, "stop"))
        options = body.get("stream_options") or {}
        if options.get("include_usage") and self.usage is not None:
            await resp.write(b"data: " + orjson.dumps({
                "id": f"cmpl-{self.name}", "object": "chat.completion.chunk", "created": 0,
                "model": body["model"], "choices": [], "usage": self.usage}) + b"\n\n")
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp
