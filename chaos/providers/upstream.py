"""One simulated OpenAI-compatible upstream: a real aiohttp server on 127.0.0.1.

>>> upstream = SimulatedUpstream(MockUpstreamSpec(name="private-eu", model="llama-3.1-70b-private-eu"))
>>> # await upstream.start(); upstream.url -> "http://127.0.0.1:<port>"
>>> # upstream.set_fault("error_500", rate=0.5); await upstream.kill(); await upstream.restart()

Endpoints: ``POST /v1/chat/completions`` (JSON or ``stream: true`` SSE), ``GET /v1/models``,
``GET /health``, and the control API ``GET|POST|DELETE /_govchaos/fault`` (POST body
``{"kind": "...", "params": {...}}``), ``GET /_govchaos/requests`` (the request log),
``GET /_govchaos/usage`` (the usage log: tokens of every answer with content) and
``GET|POST /_govchaos/ping[?bytes=N]`` (N bytes back, a POST body read and counted; not logged,
never faulted): the witness the harness sends through the fault proxy to see a network fault
bite (``chaos.faults.witness``).

Faults apply to chat completions only: ``/health`` stays green under a fault, as the health
endpoint of a real inference server often does after its GPU failed.

``kill()`` closes the listening socket and resets every open connection (SO_LINGER 0), so
clients see "connection refused" for new connections and "connection reset" on open ones:
exactly what a gateway sees when an upstream worker process dies. A connection the event loop
accepted just before the kill, whose handler was not yet registered, is reset when its first
request arrives. ``restart()`` listens again on the same port with the same state (request log,
fault) as before. (The chaos runner kills harder still: it SIGKILLs a fleet process of the
upstream's own, ``FleetProcess.kill``.)
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import orjson
from aiohttp import web

from chaos.markers import (
    EXCERPT_CHARS, PROBE_HEADER, carry, find_carried_ids, find_request_ids, message_text,
)
from chaos.providers import openai_shape
from chaos.providers.call import UpstreamCall, abort_with_reset
from chaos.providers.errors import FaultParamsError, ProviderError, UnknownFaultError
from chaos.providers.faults import FAULTS, ActiveFault, UpstreamFaultRegistry
from chaos.providers.models import (
    FaultSpec, MockUpstreamSpec, RequestLogEntry, UpstreamInfo, UsageEntry,
)
from chaos.providers.request_log import RequestLog, usage_log_path

REQUEST_ID_HEADER = "X-Govchaos-Request-Id"
CONTROL_PREFIX = "/_govchaos/"


class SimulatedUpstream:
    """A simulated upstream with controllable faults and a ground-truth request log."""

    def __init__(
        self,
        spec: MockUpstreamSpec,
        *,
        registry: UpstreamFaultRegistry = FAULTS,
        log: RequestLog | None = None,
    ) -> None:
        self.spec = spec
        self.name = spec.name
        self.model = spec.model
        self.content = spec.content if spec.content is not None else openai_shape.default_content(
            spec.name
        )
        self._registry = registry
        self._rng = random.Random(spec.seed)
        self._log = log if log is not None else RequestLog(spec.log_file)
        self._usage: RequestLog[UsageEntry] = RequestLog(
            usage_log_path(self._log.path) if self._log.path is not None else None,
            entry_type=UsageEntry)
        self._fault: ActiveFault | None = None
        self._released = asyncio.Event()
        self._sequence = 0
        self._runner: web.AppRunner | None = None
        self._server: asyncio.AbstractServer | None = None
        self._port = spec.port
        self._state: str = "stopped"
        if spec.fault is not None:
            self.set_fault(spec.fault.kind, **spec.fault.params)

    # ----------------------------------------------------------------- lifecycle

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self.spec.host}:{self._port}"

    @property
    def state(self) -> str:
        """``stopped`` (never started or stopped), ``running`` or ``killed``."""
        return self._state

    async def start(self) -> None:
        """Start listening (port 0 picks a free port, kept for later restarts).

        Raises:
            ProviderError: the address cannot be bound.
        """
        if self._runner is None:
            app = web.Application(
                client_max_size=8 * 1024 * 1024, middlewares=[self._dead_while_killed]
            )
            app.router.add_post("/v1/chat/completions", self._chat)
            app.router.add_get("/v1/models", self._models)
            app.router.add_get("/health", self._health)
            app.router.add_get("/_govchaos/fault", self._get_fault)
            app.router.add_post("/_govchaos/fault", self._post_fault)
            app.router.add_delete("/_govchaos/fault", self._delete_fault)
            app.router.add_get("/_govchaos/requests", self._get_requests)
            app.router.add_get("/_govchaos/usage", self._get_usage)
            app.router.add_get("/_govchaos/ping", self._ping)
            app.router.add_post("/_govchaos/ping", self._ping)
            # handler_cancellation: a handler whose client went away (or whose connection the
            # kill reset) is cancelled, so a hanging request does not outlive its connection.
            self._runner = web.AppRunner(
                app, handle_signals=False, access_log=None, handler_cancellation=True
            )
            await self._runner.setup()
            self._guard_connections(self._runner.server)
        await self._listen()

    async def _listen(self) -> None:
        assert self._runner is not None and self._runner.server is not None
        loop = asyncio.get_running_loop()
        try:
            # A deep backlog: open-loop bursts must queue in the kernel, not be dropped
            # (a dropped SYN costs the client a one-second retransmit).
            self._server = await loop.create_server(
                self._runner.server, self.spec.host, self._port, reuse_address=True, backlog=1024
            )
        except OSError as exc:
            raise ProviderError(
                f"upstream {self.name}: cannot listen on {self.spec.host}:{self._port}: {exc}"
            ) from exc
        self._port = self._server.sockets[0].getsockname()[1]
        self._state = "running"

    def _guard_connections(self, server: Any) -> None:
        # A connection the loop accepted just before kill() registers only afterwards, so the
        # kill's sweep of server.connections missed it: reset it the moment it registers.
        register = server.connection_made

        def connection_made(handler: Any, transport: Any) -> None:
            register(handler, transport)
            if self._state != "running":
                abort_with_reset(transport)

        server.connection_made = connection_made

    @web.middleware
    async def _dead_while_killed(self, request: web.Request, handler: Any) -> web.StreamResponse:
        # A connection accepted in the instant before kill() was not in server.connections yet,
        # so nothing reset it: a dead worker answers nothing, so reset it now, unlogged.
        if self._state != "running":
            abort_with_reset(request.transport)
            return web.Response(status=503)  # never reaches the peer: the transport is gone
        return await handler(request)

    async def kill(self) -> None:
        """Close the listener and reset every open connection (a dead worker). Idempotent."""
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._runner is not None and self._runner.server is not None:
            for handler in self._runner.server.connections:
                abort_with_reset(handler.transport)
        # Let connection_lost callbacks run so cancelled handlers unwind before we return.
        await asyncio.sleep(0)
        if self._state == "running":
            self._state = "killed"

    async def restart(self) -> None:
        """Listen again on the same port after :meth:`kill`. No-op while running.

        Raises:
            ProviderError: the port cannot be bound again.
        """
        if self._state == "running":
            return
        if self._runner is None:
            await self.start()
            return
        await self._listen()

    async def stop(self) -> None:
        """Kill, release hanging requests, free every resource and close the log file."""
        await self.kill()
        self._released.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._log.close()
        self._usage.close()
        self._state = "stopped"

    async def __aenter__(self) -> SimulatedUpstream:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ----------------------------------------------------------------- faults

    @property
    def fault(self) -> FaultSpec | None:
        """The active fault, as ``FaultSpec`` (``rate`` folded into params)."""
        return None if self._fault is None else FaultSpec(**self._fault.describe())

    def set_fault(self, kind: str, **params: Any) -> FaultSpec:
        """Make the upstream misbehave from now on (replaces the active fault).

        Raises:
            UnknownFaultError: ``kind`` is not registered.
            FaultParamsError: a parameter is invalid.
        """
        fault = self._registry.build(kind, params)
        self._release_hung()
        self._fault = fault
        return FaultSpec(**fault.describe())

    def clear_fault(self) -> None:
        """Behave normally again; requests held by ``hang`` are answered."""
        self._release_hung()
        self._fault = None

    def _release_hung(self) -> None:
        self._released.set()
        self._released = asyncio.Event()

    # ----------------------------------------------------------------- request log

    @property
    def request_log(self) -> list[RequestLogEntry]:
        return self._log.entries

    @property
    def usage_log(self) -> list[UsageEntry]:
        """What this upstream answered, in tokens (one entry per answer with content)."""
        return self._usage.entries

    def info(self) -> UpstreamInfo:
        return UpstreamInfo(
            name=self.name,
            model=self.model,
            url=self.url,
            port=self._port,
            state=self._state,  # type: ignore[arg-type]
            fault=self.fault,
            log_file=str(self._log.path) if self._log.path else None,
            requests=len(self._log),
        )

    def _record(
        self,
        request: web.Request,
        body: dict[str, Any] | None,
        stream: bool,
        outcome: str,
        raw: bytes = b"",
    ) -> RequestLogEntry:
        # Client request ids are searched in the whole raw body (message content, whatever its
        # shape, and any other field a gateway copied the prompt into): the ground truth of
        # which client's data reached this model, whatever the headers claim.
        text = raw.decode("utf-8", errors="replace")
        excerpt = message_text(body) if body is not None else text
        body = body or {}
        model = body.get("model")
        user = body.get("user")
        entry = RequestLogEntry(
            received_at=time.time(),
            received_mono=time.monotonic(),
            upstream=self.name,
            served_model=self.model,
            body_model=model if isinstance(model, str) else None,
            request_id=request.headers.get(REQUEST_ID_HEADER),
            user=user if isinstance(user, str) else None,
            content_request_ids=find_request_ids(text),
            content_carried_ids=find_carried_ids(text),
            content_excerpt=excerpt[:EXCERPT_CHARS] or None,
            probe_header=request.headers.get(PROBE_HEADER),
            stream=stream,
            method=request.method,
            path=request.path,
            outcome=outcome,
        )
        self._log.append(entry)
        return entry

    def _usage_sink(self, entry: RequestLogEntry) -> Any:
        def sink(prompt: int, completion: int, usage_sent: bool, complete: bool) -> None:
            self._usage.append(UsageEntry(
                received_at=entry.received_at, received_mono=entry.received_mono,
                answered_at=time.time(), upstream=self.name, served_model=self.model,
                request_id=entry.govchaos_request_id, stream=entry.stream,
                prompt_tokens=prompt, completion_tokens=completion, usage_sent=usage_sent,
                complete=complete))

        return sink

    # ----------------------------------------------------------------- handlers

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            body = None
        if not isinstance(body, dict):
            self._record(request, None, False, "bad_request", raw)
            return web.Response(
                status=400,
                body=openai_shape.error_body(
                    "request body is not a JSON object", error_type="invalid_request_error"
                ),
                content_type="application/json",
            )
        stream = body.get("stream") is True
        fault = self._fault
        affected = fault is not None and fault.applies(self._rng)
        entry = self._record(request, body, stream, fault.kind if affected and fault else "ok", raw)
        self._sequence += 1
        call = UpstreamCall(
            request=request,
            body=body,
            stream=stream,
            upstream=self.name,
            model=self.model,
            # The answer carries what reached the model (chaos.markers.carry): a workflow step
            # built from it shows whose data it holds.
            content=carry(self.content, raw.decode("utf-8", errors="replace")),
            latency=self.spec.latency,
            rng=self._rng,
            sequence=self._sequence,
            released=self._released,
            usage_sink=self._usage_sink(entry),
        )
        if affected and fault is not None:
            return await fault.behaviour.respond(call)
        return await call.answer()

    async def _models(self, request: web.Request) -> web.Response:
        self._record(request, None, False, "ok")
        return web.Response(
            body=openai_shape.models_list(self.model, owned_by=self.name),
            content_type="application/json",
        )

    async def _health(self, request: web.Request) -> web.Response:
        self._record(request, None, False, "ok")
        return web.Response(
            body=orjson.dumps({"status": "ok", "upstream": self.name, "model": self.model}),
            content_type="application/json",
        )

    async def _ping(self, request: web.Request) -> web.Response:
        received = len(await request.read())
        try:
            size = min(max(int(request.query.get("bytes", "0")), 0), 16 * 1024 * 1024)
        except ValueError:
            return _json(400, {"error": "bytes must be an integer", "status": 400})
        return web.Response(
            body=b"." * size, headers={"X-Govchaos-Received": str(received)},
            content_type="application/octet-stream",
        )

    async def _get_fault(self, request: web.Request) -> web.Response:
        return _json(200, {"fault": None if self._fault is None else self._fault.describe()})

    async def _post_fault(self, request: web.Request) -> web.Response:
        status, payload = apply_fault_command(self, await request.read())
        return _json(status, payload)

    async def _delete_fault(self, request: web.Request) -> web.Response:
        self.clear_fault()
        return _json(200, {"fault": None})

    async def _get_requests(self, request: web.Request) -> web.Response:
        return _json(200, {"requests": [entry.model_dump() for entry in self._log.entries]})

    async def _get_usage(self, request: web.Request) -> web.Response:
        return _json(200, {"usage": [entry.model_dump() for entry in self._usage.entries]})


def apply_fault_command(upstream: SimulatedUpstream, raw: bytes) -> tuple[int, dict[str, Any]]:
    """Apply a ``POST .../fault`` body (``{"kind", "params"}``) and return (status, payload).

    Shared by the upstream's own control endpoint and the fleet control server; bad input is a
    400 ``{"error", "status"}`` body, never an exception.
    """
    try:
        spec = FaultSpec.model_validate(orjson.loads(raw))
    except orjson.JSONDecodeError as exc:
        return 400, {"error": f"body is not JSON: {exc}", "status": 400}
    except ValueError as exc:  # pydantic.ValidationError
        return 400, {"error": f"invalid fault command: {exc}", "status": 400}
    try:
        applied = upstream.set_fault(spec.kind, **spec.params)
    except (UnknownFaultError, FaultParamsError) as exc:
        return 400, {"error": exc.message, "status": 400}
    return 200, {"fault": applied.model_dump()}


def _json(status: int, payload: dict[str, Any]) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(payload), content_type="application/json")
