"""All proxies of one server, and the operations the HTTP API maps onto.

Every mutation holds one lock, so concurrent API calls see each other's effects in order (as
Toxiproxy's collection mutex does). Bodies arrive here already JSON-decoded; validation errors
are :class:`~chaos.proxy.errors.ApiError` values from Toxiproxy's table.
"""

from __future__ import annotations

import asyncio
from typing import Any

from chaos.proxy.errors import (
    BAD_REQUEST_BODY,
    MISSING_FIELD,
    PROXY_ALREADY_EXISTS,
    PROXY_NOT_FOUND,
    ApiError,
)
from chaos.proxy.address import resolve_listen, split_address
from chaos.proxy.proxy import Proxy
from chaos.proxy.toxics.wrapper import ToxicWrapper


def _string_field(body: dict[str, Any], key: str, default: str = "") -> str:
    value = body.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise BAD_REQUEST_BODY.with_detail(f"{key} must be a string")
    return value


def _bool_field(body: dict[str, Any], key: str, default: bool) -> bool:
    value = body.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise BAD_REQUEST_BODY.with_detail(f"{key} must be a boolean")
    return value


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BAD_REQUEST_BODY.with_detail("expected a JSON object")
    return body


class ProxyCollection:
    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.proxies: dict[str, Proxy] = {}
        self._lock = asyncio.Lock()

    def get(self, name: str) -> Proxy:
        """Raises: ApiError 404 "proxy not found"."""
        try:
            return self.proxies[name]
        except KeyError:
            raise PROXY_NOT_FOUND from None

    def _new_proxy(self, body: dict[str, Any], where: str = "") -> tuple[Proxy, bool]:
        name = _string_field(body, "name")
        upstream = _string_field(body, "upstream")
        if not name:
            raise MISSING_FIELD.with_detail(f"name{where}")
        if not upstream:
            raise MISSING_FIELD.with_detail(f"upstream{where}")
        proxy = Proxy(name, _string_field(body, "listen"), upstream, self.seed)
        enabled = _bool_field(body, "enabled", True)
        if enabled:
            split_address(proxy.listen, "listen")
            split_address(proxy.upstream, "upstream")
        return proxy, enabled

    async def create(self, body: Any) -> Proxy:
        """Raises: ApiError 400 bad body / missing field, 409 exists, 500 cannot listen."""
        proxy, enabled = self._new_proxy(_object(body))
        async with self._lock:
            if proxy.name in self.proxies:
                raise PROXY_ALREADY_EXISTS
            if enabled:
                await proxy.start()
            self.proxies[proxy.name] = proxy
        return proxy

    async def populate(self, body: Any) -> list[Proxy]:
        """Create or replace a list of proxies; all are validated before any is applied.

        A proxy whose name and upstream match an existing one and whose listen *resolves* to
        the existing one's bound address (``localhost:7070`` for ``127.0.0.1:7070``) is kept as
        it is, with its toxics and live connections; any other existing proxy of that name is
        replaced.

        Raises:
            ApiError: 400 bad body, missing field, bad or unresolvable listen, duplicate name;
                500 cannot listen.
        """
        if not isinstance(body, list):
            raise BAD_REQUEST_BODY.with_detail("expected a JSON array of proxies")
        planned: list[tuple[Proxy, bool, str]] = []
        names: set[str] = set()
        for index, item in enumerate(body, start=1):
            proxy, enabled = self._new_proxy(_object(item), f" at proxy {index}")
            if proxy.name in names:
                raise BAD_REQUEST_BODY.with_detail(f"duplicate proxy name {proxy.name!r}")
            names.add(proxy.name)
            # Resolved now, so that a name that does not resolve fails before anything applies.
            try:
                resolved = await resolve_listen(proxy.listen)
            except ApiError:
                if enabled:
                    raise
                resolved = proxy.listen  # a disabled proxy is never bound: any listen is kept
            planned.append((proxy, enabled, resolved))
        result: list[Proxy] = []
        async with self._lock:
            for proxy, enabled, resolved in planned:
                existing = self.proxies.get(proxy.name)
                if existing is not None:
                    if not existing.differs(resolved, proxy.upstream):
                        result.append(existing)
                        continue
                    await existing.stop()
                    del self.proxies[proxy.name]
                if enabled:
                    await proxy.start()
                self.proxies[proxy.name] = proxy
                result.append(proxy)
        return result

    async def update(self, name: str, body: Any) -> Proxy:
        """Apply ``enabled``/``listen``/``upstream`` from ``body``; absent fields stay.

        Raises:
            ApiError: 404 unknown proxy, 400 bad body, 500 cannot listen.
        """
        async with self._lock:
            proxy = self.get(name)
            fields = _object(body)
            await proxy.update(
                _string_field(fields, "listen", proxy.listen),
                _string_field(fields, "upstream", proxy.upstream),
                _bool_field(fields, "enabled", proxy.enabled),
            )
            return proxy

    async def delete(self, name: str) -> None:
        """Raises: ApiError 404 unknown proxy."""
        async with self._lock:
            proxy = self.get(name)
            await proxy.stop()
            del self.proxies[name]

    async def reset(self) -> None:
        """Re-enable every proxy and remove every toxic (from live connections too)."""
        async with self._lock:
            for proxy in self.proxies.values():
                if not proxy.enabled:
                    await proxy.start()
                proxy.remove_all_toxics()

    async def add_toxic(self, proxy_name: str, body: Any) -> ToxicWrapper:
        """Raises: ApiError 404 unknown proxy, 400 bad toxic, 409 duplicate name."""
        async with self._lock:
            proxy = self.get(proxy_name)
            wrapper = ToxicWrapper.from_json(
                body, exists=lambda name: proxy.find_toxic(name) is not None
            )
            proxy.add_toxic(wrapper)
            return wrapper

    async def update_toxic(self, proxy_name: str, toxic_name: str, body: Any) -> ToxicWrapper:
        """Raises: ApiError 404 unknown proxy or toxic, 400 bad attributes."""
        async with self._lock:
            return self.get(proxy_name).update_toxic(toxic_name, body)

    async def remove_toxic(self, proxy_name: str, toxic_name: str) -> None:
        """Raises: ApiError 404 unknown proxy or toxic."""
        async with self._lock:
            self.get(proxy_name).remove_toxic(toxic_name)

    async def close(self) -> None:
        async with self._lock:
            for proxy in self.proxies.values():
                await proxy.stop()
            self.proxies.clear()


__all__ = ["ApiError", "ProxyCollection"]
