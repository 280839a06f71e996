"""HTTP control of a whole fleet, for a harness in another process.

Endpoints (JSON; errors are ``{"error": "...", "status": N}``):

=======  =====================================  ===========================================
GET      /_govchaos/upstreams                   ``{"upstreams": {name: UpstreamInfo}}``
POST     /_govchaos/upstreams/{name}/fault      body ``{"kind", "params"}`` → ``{"fault"}``
DELETE   /_govchaos/upstreams/{name}/fault      clear → ``{"fault": null}``
POST     /_govchaos/upstreams/{name}/kill       close listener, reset connections → info
POST     /_govchaos/upstreams/{name}/restart    listen again on the same port → info
GET      /_govchaos/upstreams/{name}/requests   ``{"requests": [RequestLogEntry, ...]}``
GET      /_govchaos/upstreams/{name}/usage      ``{"usage": [UsageEntry, ...]}``
=======  =====================================  ===========================================

The control server has its own port, so it still answers while an upstream is killed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from chaos.providers.errors import ProviderError, UnknownUpstreamError
from chaos.providers.fleet import UpstreamFleet
from chaos.providers.upstream import SimulatedUpstream, apply_fault_command

Handler = Callable[[web.Request, SimulatedUpstream], Awaitable[tuple[int, dict[str, Any]]]]


def _json(status: int, payload: dict[str, Any]) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(payload), content_type="application/json")


def _per_upstream(fleet: UpstreamFleet, handler: Handler):  # type: ignore[no-untyped-def]
    async def wrapped(request: web.Request) -> web.Response:
        try:
            upstream = fleet[request.match_info["name"]]
        except UnknownUpstreamError as exc:
            return _json(404, {"error": exc.message, "status": 404})
        try:
            status, payload = await handler(request, upstream)
        except ProviderError as exc:
            return _json(500, {"error": exc.message, "status": 500})
        return _json(status, payload)

    return wrapped


async def _set_fault(request: web.Request, upstream: SimulatedUpstream) -> tuple[int, dict[str, Any]]:
    return apply_fault_command(upstream, await request.read())


async def _clear_fault(request: web.Request, upstream: SimulatedUpstream) -> tuple[int, dict[str, Any]]:
    upstream.clear_fault()
    return 200, {"fault": None}


async def _kill(request: web.Request, upstream: SimulatedUpstream) -> tuple[int, dict[str, Any]]:
    await upstream.kill()
    return 200, upstream.info().model_dump()


async def _restart(request: web.Request, upstream: SimulatedUpstream) -> tuple[int, dict[str, Any]]:
    await upstream.restart()
    return 200, upstream.info().model_dump()


async def _requests(request: web.Request, upstream: SimulatedUpstream) -> tuple[int, dict[str, Any]]:
    return 200, {"requests": [entry.model_dump() for entry in upstream.request_log]}


async def _usage(request: web.Request, upstream: SimulatedUpstream) -> tuple[int, dict[str, Any]]:
    return 200, {"usage": [entry.model_dump() for entry in upstream.usage_log]}


def control_app(fleet: UpstreamFleet) -> web.Application:
    """The aiohttp application that controls ``fleet``."""
    app = web.Application()

    async def list_upstreams(request: web.Request) -> web.Response:
        return _json(200, {"upstreams": {n: i.model_dump() for n, i in fleet.info().items()}})

    base = "/_govchaos/upstreams/{name}"
    app.router.add_get("/_govchaos/upstreams", list_upstreams)
    app.router.add_post(f"{base}/fault", _per_upstream(fleet, _set_fault))
    app.router.add_delete(f"{base}/fault", _per_upstream(fleet, _clear_fault))
    app.router.add_post(f"{base}/kill", _per_upstream(fleet, _kill))
    app.router.add_post(f"{base}/restart", _per_upstream(fleet, _restart))
    app.router.add_get(f"{base}/requests", _per_upstream(fleet, _requests))
    app.router.add_get(f"{base}/usage", _per_upstream(fleet, _usage))
    return app
