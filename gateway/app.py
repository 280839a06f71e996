"""The gateway's ASGI application (raw ASGI: measured faster than a framework on this path).

Endpoints: ``POST /v1/chat/completions`` (JSON or ``stream: true`` SSE), ``GET /v1/models``,
``GET /healthz``, ``GET /readyz``, ``GET /metrics``. Request order: authenticate (constant-time)
→ read the body → validate it and the declarations (:mod:`gateway.request`: strict JSON, the
OpenAI shape, route/data classes/region from every header and ``metadata``) → the router.
Errors render in one place (:func:`gateway.responses.send_error`).

Streaming: once the first content chunk has been sent, an upstream failure ends the stream with
one ``data: {"error": {...}}`` event and *no* ``data: [DONE]`` — ``[DONE]`` means "complete", so
a client that only looks for it still notices the cut (the ``openai`` SDK raises ``APIError``).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from gateway.auth import KeyStore
from gateway.failures import AttemptFailure
from gateway.config import GatewayConfig
from gateway.errors import (
    AuthenticationFailed,
    BadRequest,
    BodyTooLarge,
    MethodNotAllowed,
    NotFound,
    RequestError,
)
from gateway.request import ChatRequest, ChatRequestParser, RequestHead, read_head
from gateway.responses import send_bytes, send_error, send_json, sse_error
from gateway.ids import new_id
from gateway.ledger import Outcome
from gateway.router import Router

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_SSE_HEADERS = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]


class GatewayApp:
    def __init__(self, cfg: GatewayConfig, router: Router, keys: KeyStore) -> None:
        self.max_body = cfg.limits.max_body_bytes
        self.ready = False  # set by the server once everything is started; cleared on drain
        self.install(cfg, router, keys)

    def install(self, cfg: GatewayConfig, router: Router, keys: KeyStore) -> None:
        """Serve with this config, router and keys from the next request on (a config reload,
        gateway.reload). Nothing here awaits, so no request sees half of the swap; requests
        already running keep the router they started with."""
        sticky = {name: rt.sticky for name, rt in router.routes.items() if rt.sticky is not None}
        parser = ChatRequestParser(cfg.limits, router.routes, cfg.default_route, new_id, sticky)
        seen: dict[str, str] = {}
        for up in cfg.upstreams:
            seen.setdefault(up.model, up.provider)
        models = orjson.dumps({
            "object": "list",
            "data": [{"id": m, "object": "model", "created": 0, "owned_by": p}
                     for m, p in seen.items()],
        })
        self.cfg, self.router, self.keys, self.parser, self._models = (
            cfg, router, keys, parser, models)

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            try:
                await self._http(scope, receive, send)
            except RequestError as err:
                await send_error(send, err)
        elif kind == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return

    async def _http(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        path = scope["path"]
        method = scope["method"]
        if path == "/v1/chat/completions":
            if method != "POST":
                raise MethodNotAllowed("use POST")
            await self._chat(scope, receive, send)
            return
        if method not in ("GET", "HEAD"):
            raise MethodNotAllowed("use GET") if path in (
                "/v1/models", "/healthz", "/readyz", "/metrics") else NotFound(f"no route {path}")
        if path == "/healthz":
            await send_json(send, 200, {"status": "ok"})
        elif path == "/readyz":
            now = self.router.clock()
            usable = [u.name for u in self.router.upstreams.values() if u.usable(now)]
            audit = self.router.audit_status()
            ok = self.ready and bool(usable) and audit["available"]
            await send_json(send, 200 if ok else 503,
                            {"status": "ready" if ok else "not_ready", "upstreams_in_rotation": usable,
                             "audit": audit})
        elif path == "/metrics":
            m = self.router.metrics
            now = self.router.clock()
            for up in self.router.upstreams.values():
                m.in_rotation.labels(up.name).set(1 if up.usable(now) else 0)
                m.breaker_changed(up.name, up.breaker.state)
            self.router.budgets.export(m)
            self.router.export_split_shares()
            # also a plain value: a set_function gauge is not seen across worker processes
            m.hedge_budget.set(self.router.scheduler.budget.tokens)
            await send_bytes(send, 200, m.render(), m.content_type.encode())
        elif path == "/v1/models":
            self._tenant(read_head(scope["headers"]))
            await send_bytes(send, 200, self._models)
        else:
            raise NotFound(f"no route {path}")

    def _tenant(self, head: RequestHead) -> str:
        tenant = self.keys.tenant_for(head.authorization)
        if tenant is None:
            raise AuthenticationFailed("missing or invalid API key")
        return tenant

    async def _read_body(self, head: RequestHead, receive: Receive) -> bytes:
        declared = head.content_length
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            raise BodyTooLarge(f"request body over {self.max_body} bytes")
        chunks = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise BadRequest("client disconnected before sending the body")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise BodyTooLarge(f"request body over {self.max_body} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def _chat(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        t0 = time.perf_counter()
        router, parser = self.router, self.parser  # one config for the whole request (reload)
        head = read_head(scope["headers"])
        tenant = self._tenant(head)
        raw = await self._read_body(head, receive)
        req = parser.parse(head, raw, tenant)
        req.t0 = t0
        metrics = router.metrics
        try:
            if req.stream:
                await self._stream(router, req, send)
                return
            out = await router.complete(req)
            await router.audit_durable(out)  # never an answer whose records are not durable
        except RequestError as err:
            metrics.request(req.route, "none", str(err.status), req.step)
            raise
        headers_out = out.headers()
        await send_bytes(send, 200, out.raw, headers=headers_out)
        metrics.request(req.route, out.upstream.model, "200", req.step)  # type: ignore[union-attr]
        metrics.overhead.observe(max(0.0, time.perf_counter() - t0 - out.upstream_s))

    async def _stream(self, router: Router, req: ChatRequest, send: Send) -> None:
        out: Outcome = await router.open_stream(req)
        stream = out.stream
        assert stream is not None and out.upstream is not None
        failure: AttemptFailure | None = None
        finished = False
        try:
            # the decision and first attempt must be durable before the first token is sent
            await router.audit_durable(out)
            await send({"type": "http.response.start", "status": 200,
                        "headers": _SSE_HEADERS + out.headers()})
            for frame in out.first_events:
                await send({"type": "http.response.body", "body": frame, "more_body": True})
            try:
                async for frame in stream.rest():
                    await send({"type": "http.response.body", "body": frame, "more_body": True})
            except AttemptFailure as f:
                failure = f
                await send({"type": "http.response.body", "more_body": True, "body": sse_error(
                    "upstream_stream_failed",
                    f"upstream {out.upstream.name} failed mid-stream ({f.reason}); the answer is incomplete",
                )})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            router.finish_stream(req, out, failure)
            finished = True
        finally:
            await stream.close()
            if not finished:
                router.finish_stream(req, out, None, cancelled=True)
        status = "200" if failure is None else "200_stream_error"
        router.metrics.request(req.route, out.upstream.model, status, req.step)
