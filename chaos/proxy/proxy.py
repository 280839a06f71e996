"""A named proxy: a listening socket, its upstream, its toxics and its live connections.

Lifecycle follows Toxiproxy: enabling binds ``listen`` (and rewrites it to the bound
``host:port``, so ``127.0.0.1:0`` becomes a real port and re-enabling binds the same one);
disabling closes the listener and drops every connection. Toxics apply to connections accepted
later *and* to the ones already open.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from chaos.proxy.address import format_address, listen_host, resolve_listen, split_address
from chaos.proxy.errors import TOXIC_ALREADY_EXISTS, TOXIC_NOT_FOUND, ApiError
from chaos.proxy.link import Connection
from chaos.proxy.toxics.wrapper import ToxicWrapper


class Proxy:
    def __init__(self, name: str, listen: str, upstream: str, seed: int) -> None:
        self.name = name
        self.listen = listen or "127.0.0.1:0"
        self.upstream = upstream
        self.enabled = False
        self.toxics: list[ToxicWrapper] = []
        self.connections: set[Connection] = set()
        self._server: asyncio.Server | None = None
        self._seed = seed
        self._accepted = 0

    # -- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> None:
        """Bind ``listen`` and accept clients.

        Raises:
            ApiError: 400 for a malformed address, 500 when the address cannot be bound.
        """
        if self.enabled:
            return
        host, port = split_address(self.listen, "listen")
        split_address(self.upstream, "upstream")
        loop = asyncio.get_running_loop()
        try:
            self._server = await loop.create_server(
                self._accept, listen_host(host), port, reuse_address=True
            )
        except OSError as exc:
            raise ApiError(f"listen tcp {self.listen}: {exc.strerror or exc}", status=500) from exc
        bound = self._server.sockets[0].getsockname()
        self.listen = format_address(bound[0], bound[1])
        self.enabled = True

    async def stop(self) -> None:
        """Close the listener and drop every live connection."""
        if not self.enabled:
            return
        self.enabled = False
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for conn in list(self.connections):
            conn.abort()
        self.connections.clear()
        if server is not None:
            await server.wait_closed()

    def differs(self, resolved_listen: str, upstream: str) -> bool:
        """Whether a new ``listen`` (already passed through
        :func:`~chaos.proxy.address.resolve_listen`) or ``upstream`` would change this proxy,
        as Toxiproxy's ``Differs`` decides: ``upstream`` is compared as written."""
        return resolved_listen != self.listen or upstream != self.upstream

    async def update(self, listen: str, upstream: str, enabled: bool) -> None:
        """Apply a PATCH: rebind only when the resolved ``listen`` or the ``upstream`` changes
        (a rebind drops live connections; toxics stay).

        Raises:
            ApiError: 400 for a malformed address, 500 when the address cannot be bound.
        """
        if self.differs(await resolve_listen(listen), upstream):
            split_address(upstream, "upstream")
            await self.stop()
            self.listen, self.upstream = listen, upstream
        if enabled and not self.enabled:
            await self.start()
        elif not enabled and self.enabled:
            await self.stop()

    # -- connections --------------------------------------------------------------------------
    def _rng_for(self, conn_index: int) -> Any:
        def make(direction: str, toxic: str) -> random.Random:
            # One generator per (connection, direction, toxic): a connection's draws do not
            # depend on how other connections or proxies interleave with it.
            return random.Random(f"{self._seed}/{self.name}/{conn_index}/{direction}/{toxic}")

        return make

    def _accept(self) -> asyncio.Protocol:
        self._accepted += 1
        conn = Connection(self.toxics, self._rng_for(self._accepted), self._forget)
        self.connections.add(conn)
        asyncio.get_running_loop().create_task(self._connect_upstream(conn))
        return conn.client_side

    async def _connect_upstream(self, conn: Connection) -> None:
        host, port = split_address(self.upstream, "upstream")
        loop = asyncio.get_running_loop()
        try:
            await loop.create_connection(lambda: conn.server_side, host, port)
        except OSError:
            conn.abort()  # like Toxiproxy: the client is closed when the upstream refuses
            return
        if conn.closed:
            conn.abort()
            return
        conn.start()

    def _forget(self, conn: Connection) -> None:
        self.connections.discard(conn)

    # -- toxics -------------------------------------------------------------------------------
    def find_toxic(self, name: str) -> ToxicWrapper | None:
        return next((t for t in self.toxics if t.name == name), None)

    def add_toxic(self, wrapper: ToxicWrapper) -> None:
        """Raises: ApiError 409 when a toxic of that name exists."""
        if self.find_toxic(wrapper.name) is not None:
            raise TOXIC_ALREADY_EXISTS
        self.toxics.append(wrapper)
        for conn in self.connections:
            conn.link(wrapper.stream).add_toxic(wrapper)

    def update_toxic(self, name: str, body: Any) -> ToxicWrapper:
        """Raises: ApiError 404 unknown toxic, 400 bad attributes."""
        current = self.find_toxic(name)
        if current is None:
            raise TOXIC_NOT_FOUND
        updated = current.updated(body)
        self.toxics[self.toxics.index(current)] = updated
        for conn in self.connections:
            conn.link(updated.stream).update_toxic(updated)
        return updated

    def remove_toxic(self, name: str) -> None:
        """Raises: ApiError 404 unknown toxic."""
        current = self.find_toxic(name)
        if current is None:
            raise TOXIC_NOT_FOUND
        self.toxics.remove(current)
        for conn in list(self.connections):
            conn.link(current.stream).remove_toxic(name)

    def remove_all_toxics(self) -> None:
        for wrapper in list(self.toxics):
            self.remove_toxic(wrapper.name)

    def toxics_json(self) -> list[dict[str, Any]]:
        # Toxiproxy lists the upstream chain, then the downstream chain.
        ordered = [t for t in self.toxics if t.stream == "upstream"]
        ordered += [t for t in self.toxics if t.stream == "downstream"]
        return [t.to_json() for t in ordered]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "listen": self.listen,
            "upstream": self.upstream,
            "enabled": self.enabled,
            "toxics": self.toxics_json(),
        }
