"""The gateway's ASGI application (raw ASGI: measured faster than a framework on this path).

Endpoints: ``POST /v1/chat/completions`` (JSON or ``stream: true`` SSE), ``GET /v1/models``,
``GET /healthz``, ``GET /readyz``, ``GET /metrics``. Request order: authenticate (constant-time)
→ read and check the body → route/classification from headers or ``metadata`` → the router.
Errors render in one place (:func:`gateway.responses.send_error`).

Streaming: once the first content chunk has been sent, an upstream failure ends the stream with
one ``data: {"error": {...}}`` event and *no* ``data: [DONE]`` — ``[DONE]`` means "complete", so
a client that only looks for it still notices the cut (the ``openai`` SDK raises ``APIError``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from gateway.auth import KeyStore
from gateway.client import AttemptFailure
from gateway.config import GatewayConfig
from gateway.errors import (
    AuthenticationFailed,
    BadRequest,
    BodyTooLarge,
    InvalidBody,
    MethodNotAllowed,
    NotFound,
    RequestError,
)
from gateway.responses import send_bytes, send_error, send_json, sse_error
from gateway.router import ChatRequest, Outcome, Router, new_id

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_SSE_HEADERS = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]


class GatewayApp:
    def __init__(self, cfg: GatewayConfig, router: Router, keys: KeyStore) -> None:
        self.cfg = cfg
        self.router = router
        self.keys = keys
        self.max_body = cfg.limits.max_body_bytes
        self.ready = False  # set by the server once everything is started; cleared on drain
        seen: dict[str, str] = {}
        for up in cfg.upstreams:
            seen.setdefault(up.model, up.provider)
        self._models = orjson.dumps({
            "object": "list",
            "data": [{"id": m, "object": "model", "created": 0, "owned_by": p}
                     for m, p in seen.items()],
        })

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
            await send_bytes(send, 200, m.render(), m.content_type.encode())
        elif path == "/v1/models":
            self._tenant(scope)
            await send_bytes(send, 200, self._models)
        else:
            raise NotFound(f"no route {path}")

    def _tenant(self, scope: dict[str, Any]) -> str:
        auth = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                auth = value
                break
        tenant = self.keys.tenant_for(auth)
        if tenant is None:
            raise AuthenticationFailed("missing or invalid API key")
        return tenant

    async def _read_body(self, headers: dict[bytes, bytes], receive: Receive) -> bytes:
        declared = headers.get(b"content-length")
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

    def _parse(self, headers: dict[bytes, bytes], raw: bytes, tenant: str) -> ChatRequest:
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise BadRequest(f"body is not valid JSON: {exc.msg}") from None
        if not isinstance(body, dict):
            raise InvalidBody("body must be a JSON object")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise InvalidBody("`messages` must be a non-empty array", param="messages")
        for i, m in enumerate(messages):
            if not isinstance(m, dict) or not isinstance(m.get("role"), str):
                raise InvalidBody("each message needs a string `role`", param=f"messages.{i}")
        stream = body.get("stream", False)
        if not isinstance(stream, bool):
            raise InvalidBody("`stream` must be a boolean", param="stream")
        max_tokens = body.get("max_tokens")
        if max_tokens is not None and (type(max_tokens) is not int or max_tokens < 1):
            raise InvalidBody("`max_tokens` must be a positive integer", param="max_tokens")
        meta = body.pop("metadata", None)
        if meta is None:
            meta = {}
        elif not isinstance(meta, dict):
            raise InvalidBody("`metadata` must be an object", param="metadata")

        route = headers.get(b"x-govchaos-route")
        route_s = route.decode("latin-1").strip() if route else meta.get("route", self.cfg.default_route)
        if not route_s or not isinstance(route_s, str):
            raise BadRequest("no route: send X-Govchaos-Route or metadata.route", code="missing_route",
                             param="X-Govchaos-Route")
        if route_s not in self.router.routes:
            raise BadRequest(f"unknown route {route_s!r}", code="unknown_route", param="X-Govchaos-Route")

        classes_h = headers.get(b"x-govchaos-data-classes")
        if classes_h is not None:
            classes = [c.strip() for c in classes_h.decode("latin-1").split(",")]
        else:
            classes = meta.get("data_classes", [])
            if isinstance(classes, str):
                classes = [c.strip() for c in classes.split(",")]
            if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
                raise InvalidBody("`metadata.data_classes` must be a list of strings",
                                  param="metadata.data_classes")
        data_classes = tuple(sorted({c for c in classes if c}))

        region_h = headers.get(b"x-govchaos-region")
        region = region_h.decode("latin-1").strip() if region_h else meta.get("region")
        if region is not None and not isinstance(region, str):
            raise InvalidBody("`metadata.region` must be a string", param="metadata.region")

        rid = headers.get(b"x-govchaos-request-id")
        if rid is None:
            request_id = new_id()
        else:
            request_id = rid.decode("latin-1")
            if not _REQUEST_ID.match(request_id):
                raise BadRequest("X-Govchaos-Request-Id must be 1-128 of [A-Za-z0-9._:-]",
                                 param="X-Govchaos-Request-Id")
        return ChatRequest(request_id=request_id, tenant=tenant, route=route_s, body=body,
                           data_classes=data_classes, region=region or None, stream=stream)

    async def _chat(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        t0 = time.perf_counter()
        headers = dict(scope["headers"])
        tenant = self._tenant(scope)
        raw = await self._read_body(headers, receive)
        req = self._parse(headers, raw, tenant)
        req.t0 = t0
        metrics = self.router.metrics
        try:
            if req.stream:
                await self._stream(req, send)
                return
            out = await self.router.complete(req)
            await self.router.audit_durable(out)  # never an answer whose records are not durable
        except RequestError as err:
            metrics.request(req.route, "none", str(err.status))
            raise
        headers_out = out.headers()
        await send_bytes(send, 200, out.raw, headers=headers_out)
        metrics.request(req.route, out.upstream.model, "200")  # type: ignore[union-attr]
        metrics.overhead.observe(max(0.0, time.perf_counter() - t0 - out.upstream_s))

    async def _stream(self, req: ChatRequest, send: Send) -> None:
        out: Outcome = await self.router.open_stream(req)
        stream = out.stream
        assert stream is not None and out.upstream is not None
        failure: AttemptFailure | None = None
        finished = False
        try:
            # the decision and first attempt must be durable before the first token is sent
            await self.router.audit_durable(out)
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
            self.router.finish_stream(req, out, failure)
            finished = True
        finally:
            await stream.close()
            if not finished:
                self.router.finish_stream(req, out, None, cancelled=True)
        status = "200" if failure is None else "200_stream_error"
        self.router.metrics.request(req.route, out.upstream.model, status)
