"""Async control of a Toxiproxy-compatible API: the embedded server or a real Toxiproxy.

>>> async def demo():
...     async with fault_proxy(seed=3) as control:
...         proxy = await control.create_proxy("db", upstream="127.0.0.1:5432")
...         await control.add_toxic("db", ToxicSpec(type="latency", attributes={"latency": 50}))
...         return proxy.listen_port > 0, control.seed
>>> import asyncio; asyncio.run(demo())
(True, 3)

The harness talks to both backends the same way, over HTTP. The caller decides which one: pass
``toxiproxy_url`` (the CLI/runner reads ``TOXIPROXY_URL``; this library never reads the
environment) to use a running Toxiproxy, or nothing to start the embedded server. httpx is used
because this is a control plane (a handful of calls per run), where its simplicity matters more
than speed; the synchronous ``toxiproxy-python`` client keeps working against the same API.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable, Mapping
from types import TracebackType
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field

from chaos.proxy.errors import ProxyControlError, ProxyUnreachableError, control_error_for
from chaos.proxy.server import FaultProxyServer


class ToxicSpec(BaseModel):
    """A toxic to add: Toxiproxy's JSON fields, with its defaults."""

    model_config = ConfigDict(frozen=True)

    type: str
    name: str | None = None
    stream: Literal["upstream", "downstream"] = "downstream"
    toxicity: float = Field(default=1.0, ge=0.0, le=1.0)
    attributes: Mapping[str, int] = Field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name or f"{self.type}_{self.stream}",
            "type": self.type,
            "stream": self.stream,
            "toxicity": self.toxicity,
            "attributes": dict(self.attributes),
        }


class ToxicInfo(BaseModel):
    """A toxic as the server reports it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str
    type: str
    stream: str = "downstream"
    toxicity: float = 1.0
    attributes: dict[str, Any] = Field(default_factory=dict)


class ProxySpec(BaseModel):
    """A proxy to create or populate."""

    model_config = ConfigDict(frozen=True)

    name: str
    upstream: str
    listen: str = "127.0.0.1:0"
    enabled: bool = True


class ProxyInfo(BaseModel):
    """A proxy as the server reports it; ``listen`` is the bound ``host:port``."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str
    listen: str
    upstream: str
    enabled: bool
    toxics: tuple[ToxicInfo, ...] = ()

    @property
    def listen_host(self) -> str:
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def listen_port(self) -> int:
        return int(self.listen.rpartition(":")[2])


class ProxyControl:
    """Async client for the Toxiproxy HTTP API at ``api_url``.

    Every method raises :class:`~chaos.proxy.errors.ProxyNotFoundError` (404),
    :class:`~chaos.proxy.errors.ProxyConflictError` (409),
    :class:`~chaos.proxy.errors.ProxyBadRequestError` (400) or
    :class:`~chaos.proxy.errors.ProxyControlError` (any other error status) with the server's
    message, and :class:`~chaos.proxy.errors.ProxyUnreachableError` when the API cannot be
    reached.
    """

    def __init__(self, api_url: str, *, timeout_s: float = 10.0, seed: int | None = None):
        self.api_url = api_url.rstrip("/")
        self.seed = seed  # known for the embedded server; a real Toxiproxy has none
        self._client = httpx.AsyncClient(base_url=self.api_url, timeout=timeout_s)

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        try:
            response = await self._client.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise ProxyUnreachableError(
                f"fault proxy API {self.api_url} unreachable: {exc.__class__.__name__}: {exc}"
            ) from exc
        if response.status_code >= 400:
            try:
                message = str(response.json().get("error", response.text))
            except ValueError:
                message = response.text.strip() or response.reason_phrase
            raise control_error_for(
                response.status_code, f"{method} {path}: {message} ({response.status_code})"
            )
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise ProxyControlError(f"{method} {path}: answer is not JSON") from exc

    # -- server -------------------------------------------------------------------------------
    async def version(self) -> dict[str, Any]:
        data = await self._call("GET", "/version")
        # Old Toxiproxy versions answer a bare version string.
        return data if isinstance(data, dict) else {"version": str(data)}

    async def reset(self) -> None:
        await self._call("POST", "/reset")

    # -- proxies ------------------------------------------------------------------------------
    async def proxies(self) -> dict[str, ProxyInfo]:
        data = await self._call("GET", "/proxies")
        return {name: ProxyInfo.model_validate(value) for name, value in data.items()}

    async def create_proxy(
        self, name: str, upstream: str, listen: str = "127.0.0.1:0", enabled: bool = True
    ) -> ProxyInfo:
        spec = ProxySpec(name=name, upstream=upstream, listen=listen, enabled=enabled)
        return ProxyInfo.model_validate(await self._call("POST", "/proxies", spec.model_dump()))

    async def populate(self, specs: Iterable[ProxySpec]) -> list[ProxyInfo]:
        data = await self._call("POST", "/populate", [s.model_dump() for s in specs])
        return [ProxyInfo.model_validate(p) for p in data.get("proxies") or []]

    async def get_proxy(self, name: str) -> ProxyInfo:
        return ProxyInfo.model_validate(await self._call("GET", f"/proxies/{name}"))

    async def update_proxy(self, name: str, **fields: Any) -> ProxyInfo:
        """PATCH ``enabled``, ``listen`` and/or ``upstream``."""
        body = {k: v for k, v in fields.items() if v is not None}
        return ProxyInfo.model_validate(await self._call("PATCH", f"/proxies/{name}", body))

    async def enable(self, name: str) -> ProxyInfo:
        return await self.update_proxy(name, enabled=True)

    async def disable(self, name: str) -> ProxyInfo:
        return await self.update_proxy(name, enabled=False)

    async def delete_proxy(self, name: str) -> None:
        await self._call("DELETE", f"/proxies/{name}")

    # -- toxics -------------------------------------------------------------------------------
    async def toxics(self, proxy: str) -> list[ToxicInfo]:
        data = await self._call("GET", f"/proxies/{proxy}/toxics")
        return [ToxicInfo.model_validate(t) for t in data]

    async def add_toxic(self, proxy: str, spec: ToxicSpec) -> ToxicInfo:
        data = await self._call("POST", f"/proxies/{proxy}/toxics", spec.to_json())
        return ToxicInfo.model_validate(data)

    async def update_toxic(
        self,
        proxy: str,
        name: str,
        attributes: Mapping[str, int] | None = None,
        toxicity: float | None = None,
    ) -> ToxicInfo:
        body: dict[str, Any] = {"attributes": dict(attributes or {})}
        if toxicity is not None:
            body["toxicity"] = toxicity
        return ToxicInfo.model_validate(
            await self._call("PATCH", f"/proxies/{proxy}/toxics/{name}", body)
        )

    async def remove_toxic(self, proxy: str, name: str) -> None:
        await self._call("DELETE", f"/proxies/{proxy}/toxics/{name}")

    # -- lifecycle ----------------------------------------------------------------------------
    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> ProxyControl:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


@contextlib.asynccontextmanager
async def fault_proxy(
    toxiproxy_url: str | None = None, *, seed: int | None = None
) -> AsyncIterator[ProxyControl]:
    """A :class:`ProxyControl` for a real Toxiproxy at ``toxiproxy_url``, or for an embedded
    :class:`FaultProxyServer` started (and stopped) here when the URL is ``None``.

    With a real Toxiproxy the proxies this run created are not deleted automatically (the
    server may be shared); call ``delete_proxy`` or ``reset`` as the run requires. ``seed`` only
    applies to the embedded server (``control.seed`` is ``None`` for a real one).

    Raises:
        ProxyUnreachableError: a real Toxiproxy does not answer ``GET /version``.
        FaultProxyError: the embedded server cannot start.
    """
    if toxiproxy_url:
        async with ProxyControl(toxiproxy_url) as control:
            await control.version()
            yield control
        return
    server = FaultProxyServer(seed=seed)
    await server.start()
    try:
        async with ProxyControl(server.api_url, seed=server.seed) as control:
            yield control
    finally:
        await server.stop()
