"""Toxiproxy's HTTP API on top of a :class:`~chaos.proxy.collection.ProxyCollection`.

Routes, methods and status codes follow Toxiproxy 2.x: 201 on proxy create and populate, 200 on
toxic create, 204 on deletes and reset, errors as ``{"error": message, "status": code}``. Like
Toxiproxy, requests whose User-Agent starts with ``Mozilla/`` are refused (403) so that a web
page cannot drive the proxy from a browser. Errors become responses in exactly one place,
:func:`_errors`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from chaos.proxy.collection import ProxyCollection
from chaos.proxy.errors import (
    BAD_REQUEST_BODY,
    BROWSER_FORBIDDEN,
    METHOD_NOT_ALLOWED,
    ROUTE_NOT_FOUND,
    TOXIC_NOT_FOUND,
    ApiError,
)

TOXIPROXY_API_VERSION = "2.12.0"
_COLLECTION = web.AppKey("collection", ProxyCollection)
_INFO = web.AppKey("info", dict)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(data, separators=(",", ":")).encode(),
        status=status,
        content_type="application/json",
    )


def _error(err: ApiError) -> web.Response:
    return _json({"error": err.message, "status": err.status}, err.status)


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.headers.get("User-Agent", "").startswith("Mozilla/"):
        return _error(BROWSER_FORBIDDEN)
    try:
        return await handler(request)
    except ApiError as err:
        return _error(err)
    except web.HTTPMethodNotAllowed:
        return _error(METHOD_NOT_ALLOWED)
    except web.HTTPNotFound:
        return _error(ROUTE_NOT_FOUND)


async def _body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw.strip():
        raise BAD_REQUEST_BODY.with_detail("EOF")
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise BAD_REQUEST_BODY.with_detail(str(exc)) from exc


def _collection(request: web.Request) -> ProxyCollection:
    return request.app[_COLLECTION]


async def version(request: web.Request) -> web.Response:
    return _json(request.app[_INFO])


async def reset(request: web.Request) -> web.Response:
    await _collection(request).reset()
    return web.Response(status=204)


async def proxy_index(request: web.Request) -> web.Response:
    proxies = _collection(request).proxies
    return _json({name: proxy.to_json() for name, proxy in proxies.items()})


async def proxy_create(request: web.Request) -> web.Response:
    proxy = await _collection(request).create(await _body(request))
    return _json(proxy.to_json(), 201)


async def populate(request: web.Request) -> web.Response:
    try:
        proxies = await _collection(request).populate(await _body(request))
    except ApiError as err:
        return _json({"error": err.message, "status": err.status, "proxies": None}, err.status)
    return _json({"proxies": [p.to_json() for p in proxies]}, 201)


async def proxy_show(request: web.Request) -> web.Response:
    return _json(_collection(request).get(request.match_info["proxy"]).to_json())


async def proxy_update(request: web.Request) -> web.Response:
    collection = _collection(request)
    name = request.match_info["proxy"]
    collection.get(name)  # 404 before complaining about the body, as Toxiproxy does
    proxy = await collection.update(name, await _body(request))
    return _json(proxy.to_json())


async def proxy_delete(request: web.Request) -> web.Response:
    await _collection(request).delete(request.match_info["proxy"])
    return web.Response(status=204)


async def toxic_index(request: web.Request) -> web.Response:
    return _json(_collection(request).get(request.match_info["proxy"]).toxics_json())


async def toxic_create(request: web.Request) -> web.Response:
    collection = _collection(request)
    collection.get(request.match_info["proxy"])
    wrapper = await collection.add_toxic(request.match_info["proxy"], await _body(request))
    return _json(wrapper.to_json())


async def toxic_show(request: web.Request) -> web.Response:
    proxy = _collection(request).get(request.match_info["proxy"])
    wrapper = proxy.find_toxic(request.match_info["toxic"])
    if wrapper is None:
        raise TOXIC_NOT_FOUND
    return _json(wrapper.to_json())


async def toxic_update(request: web.Request) -> web.Response:
    collection = _collection(request)
    proxy = collection.get(request.match_info["proxy"])
    if proxy.find_toxic(request.match_info["toxic"]) is None:
        raise TOXIC_NOT_FOUND
    wrapper = await collection.update_toxic(
        request.match_info["proxy"], request.match_info["toxic"], await _body(request)
    )
    return _json(wrapper.to_json())


async def toxic_delete(request: web.Request) -> web.Response:
    await _collection(request).remove_toxic(request.match_info["proxy"], request.match_info["toxic"])
    return web.Response(status=204)


def build_app(collection: ProxyCollection, info: dict[str, Any]) -> web.Application:
    """The aiohttp application serving the Toxiproxy API for ``collection``."""
    app = web.Application(middlewares=[_errors])
    app[_COLLECTION] = collection
    app[_INFO] = info
    route = app.router.add_route
    route("GET", "/version", version)
    route("POST", "/reset", reset)
    route("GET", "/proxies", proxy_index)
    route("POST", "/proxies", proxy_create)
    route("POST", "/populate", populate)
    route("GET", "/proxies/{proxy}", proxy_show)
    route("POST", "/proxies/{proxy}", proxy_update)
    route("PATCH", "/proxies/{proxy}", proxy_update)
    route("DELETE", "/proxies/{proxy}", proxy_delete)
    route("GET", "/proxies/{proxy}/toxics", toxic_index)
    route("POST", "/proxies/{proxy}/toxics", toxic_create)
    route("GET", "/proxies/{proxy}/toxics/{toxic}", toxic_show)
    route("POST", "/proxies/{proxy}/toxics/{toxic}", toxic_update)
    route("PATCH", "/proxies/{proxy}/toxics/{toxic}", toxic_update)
    route("DELETE", "/proxies/{proxy}/toxics/{toxic}", toxic_delete)
    return app
