"""A decision server speaking the subset of OPA's REST API that govchaos and opa-python-client use.

    POST /v1/data/{path}        {"input": ...} -> {"result": ...}   ({} when undefined, like OPA)
    GET  /v1/data/{path}        -> {"result": ...} (no input)
    PUT  /v1/data/{path}        JSON document replaces data at path -> 204
    PUT  /v1/policies/{id}      raw Rego body -> 200 {}; compile error -> 400 with OPA's error body
    GET  /v1/policies           -> {"result": [{"id", "raw"}...]};  GET /v1/policies/{id}
    DELETE /v1/policies/{id}    -> 200 {}; unknown -> 404
    GET  /health                -> 200 {}
    GET  /bundles/{name}        the current policy as an OPA bundle (ETag / If-None-Match -> 304),
                                for OPA fleets that download bundles (bundle_service.py)

Backed by the embedded regorus interpreter (any path can be asked, not only the decision).
Every change builds and checks a complete new engine before one reference is swapped, so a bad
PUT leaves the running policy untouched. Binds where it is told (tests use 127.0.0.1, port 0).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from governance.errors import GovernanceError, PolicyCompileError, PolicyInputError

from governance.engine.bundle import PolicyBundle
from governance.engine.bundle_service import BundleService
from governance.engine.rego_errors import strip_backtrace
from governance.engine.rego_values import jsonable
from governance.strict_load import loads_json
from governance.engine.regorus_engine import check_modules


def _error(status: int, code: str, message: str, **extra: Any) -> web.Response:
    return web.json_response({"code": code, "message": message, **extra}, status=status)


class _Loaded:
    """One immutable (bundle, interpreter) pair; replaced whole on every change."""

    def __init__(self, bundle: PolicyBundle) -> None:
        import regorus

        # Raises PolicyCompileError with file:line:col. Like OPA, a server may hold policies
        # without the gateway's decision rule (a query for it is then undefined).
        check_modules(bundle, require_decision=False)
        engine = regorus.Engine()
        for module in bundle.modules:
            engine.add_policy(module.path, module.source)
        engine.add_data_json(bundle.data_json)
        self.bundle = bundle
        self.engine = engine

    def evaluate(self, path: str, input_json: str | None) -> Any:
        engine = self.engine.clone()  # input is engine state: never share it between requests
        if input_json is not None:
            engine.set_input_json(input_json)
        query = "data" + "".join(f".{p}" if p.isidentifier() else f'["{p}"]' for p in _parts(path))
        if query == "data":
            return self.bundle.data  # OPA returns the whole document; base data is what we hold
        result = engine.eval_query(query)
        rows = result.get("result") or []
        if not rows:
            return None
        return rows[0]["expressions"][0]["value"]


def _parts(path: str) -> list[str]:
    return [p for p in path.strip("/").split("/") if p]


class DecisionServer:
    """aiohttp application around an embedded engine. ``start`` returns the bound (host, port)."""

    def __init__(self, bundle: PolicyBundle, *, bundles: BundleService | None = None) -> None:
        self._loaded = _Loaded(bundle)
        self.bundles = bundles or BundleService()
        self.bundles.publish(bundle)
        self._lock = asyncio.Lock()  # serialises writers; readers use the current reference
        self._runner: web.AppRunner | None = None
        self._stopped = asyncio.Event()
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_get("/health", self._health)
        app.router.add_post("/v1/data", self._post_data)
        app.router.add_post("/v1/data/{path:.*}", self._post_data)
        app.router.add_get("/v1/data", self._get_data)
        app.router.add_get("/v1/data/{path:.*}", self._get_data)
        app.router.add_put("/v1/data/{path:.*}", self._put_data)
        app.router.add_get("/v1/policies", self._list_policies)
        app.router.add_get("/v1/policies/", self._list_policies)
        app.router.add_get("/v1/policies/{id:.+}", self._get_policy)
        app.router.add_put("/v1/policies/{id:.+}", self._put_policy)
        app.router.add_delete("/v1/policies/{id:.+}", self._delete_policy)
        app.router.add_get("/bundles/{name:.+}", self.bundles.handle)
        self.app = app

    @property
    def bundle(self) -> PolicyBundle:
        return self._loaded.bundle

    async def start(self, host: str = "127.0.0.1", port: int = 8181) -> tuple[str, int]:
        """Listen on ``host:port`` (0: any free port); returns the bound address.

        Raises:
            GovernanceError: (exit 2) the port is out of range, in use or not permitted, or the
                host does not resolve / is not an address of this machine.
        """
        if not 0 <= port <= 65535:
            raise GovernanceError(
                f"port {port} is out of range (0-65535; 0 picks a free port)", code="listen_failed"
            )
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        try:
            await site.start()
        except (OSError, OverflowError) as exc:  # gaierror is an OSError too
            await self._runner.cleanup()
            self._runner = None
            reason = getattr(exc, "strerror", None) or str(exc)
            raise GovernanceError(
                f"cannot listen on {host}:{port}: {reason}", code="listen_failed"
            ) from exc
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        bound = sockets[0].getsockname() if sockets else (host, port)
        return bound[0], bound[1]

    async def serve_forever(self) -> None:
        await self._stopped.wait()

    async def close(self) -> None:
        self._stopped.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- handlers ----------------------------------------------------------------------------
    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({})

    async def _post_data(self, request: web.Request) -> web.Response:
        raw = await request.read()
        input_json = None
        if raw.strip():
            try:
                body = loads_json(raw, "body", PolicyInputError)
            except PolicyInputError as exc:  # also NaN, 1e999, huge ints, deep nesting, bad UTF-8
                return _error(400, "invalid_parameter", f"body: {exc.message}")
            if not isinstance(body, dict):
                return _error(400, "invalid_parameter", "body must be an object with an input")
            if "input" in body:
                input_json = json.dumps(body["input"])
        return self._answer(request.match_info.get("path", ""), input_json)

    async def _get_data(self, request: web.Request) -> web.Response:
        return self._answer(request.match_info.get("path", ""), None)

    def _answer(self, path: str, input_json: str | None) -> web.Response:
        try:
            value = self._loaded.evaluate(path, input_json)
        except Exception as exc:  # evaluation error: OPA answers 500 internal_error
            return _error(500, "internal_error", strip_backtrace(str(exc)))
        if value is None:
            return web.json_response({})
        return web.json_response({"result": jsonable(value)})

    async def _put_data(self, request: web.Request) -> web.Response:
        try:
            doc = loads_json(await request.read(), "body", PolicyInputError)
        except PolicyInputError as exc:
            return _error(400, "invalid_parameter", f"body: {exc.message}")
        parts = _parts(request.match_info["path"])
        async with self._lock:
            data = json.loads(json.dumps(self._loaded.bundle.data))
            if not parts:
                if not isinstance(doc, dict):
                    return _error(400, "invalid_parameter", "root data must be an object")
                data = doc
            else:
                node = data
                for p in parts[:-1]:
                    if not isinstance(node.get(p), dict):
                        node[p] = {}
                    node = node[p]
                node[parts[-1]] = doc
            return self._swap(self._loaded.bundle.with_data(data), status=204)

    async def _list_policies(self, request: web.Request) -> web.Response:
        mods = self._loaded.bundle.modules
        return web.json_response({"result": [{"id": m.path, "raw": m.source, "ast": {}} for m in mods]})

    async def _get_policy(self, request: web.Request) -> web.Response:
        pid = request.match_info["id"]
        for m in self._loaded.bundle.modules:
            if m.path == pid:
                return web.json_response({"result": {"id": m.path, "raw": m.source, "ast": {}}})
        return _error(404, "resource_not_found", f"storage_not_found_error: policy id {pid!r}")

    async def _put_policy(self, request: web.Request) -> web.Response:
        pid = request.match_info["id"]
        try:
            source = (await request.read()).decode("utf-8")
        except UnicodeDecodeError:
            return _error(400, "invalid_parameter", "policy body is not UTF-8")
        async with self._lock:
            return self._swap(self._loaded.bundle.with_module(pid, source), status=200)

    async def _delete_policy(self, request: web.Request) -> web.Response:
        pid = request.match_info["id"]
        async with self._lock:
            if all(m.path != pid for m in self._loaded.bundle.modules):
                return _error(404, "resource_not_found", f"storage_not_found_error: policy id {pid!r}")
            return self._swap(self._loaded.bundle.without_module(pid), status=200)

    def _swap(self, bundle: PolicyBundle, *, status: int) -> web.Response:
        try:
            loaded = _Loaded(bundle)
        except PolicyCompileError as exc:
            loc = exc.location
            error = {"code": "rego_compile_error", "message": exc.message}
            if loc is not None:
                error["location"] = {"file": loc.file, "row": loc.line, "col": loc.column}
            return _error(
                400,
                "invalid_parameter",
                "error(s) occurred while compiling module(s)",
                errors=[error],
            )
        try:
            self.bundles.publish(bundle)  # before the swap: a failure keeps both as they were
        except GovernanceError as exc:
            return _error(400, "invalid_parameter", exc.diagnostics())
        self._loaded = loaded  # the atomic swap
        if status == 204:
            return web.Response(status=204)
        return web.json_response({})
