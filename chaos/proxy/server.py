"""The embedded Toxiproxy-compatible server: the HTTP API plus every proxy it creates.

>>> async def demo():
...     async with FaultProxyServer(seed=7) as server:
...         return server.seed, server.api_url.startswith("http://127.0.0.1:")
>>> import asyncio; asyncio.run(demo())
(7, True)

Everything runs on the caller's event loop. ``seed`` drives every random choice (toxicity rolls,
latency jitter, slicer cuts); when none is given a fresh one is drawn and exposed as ``seed`` and
in ``GET /version`` so a run can record it.
"""

from __future__ import annotations

import random
from types import TracebackType

from aiohttp import web

from chaos.proxy.api import TOXIPROXY_API_VERSION, build_app
from chaos.proxy.collection import ProxyCollection
from chaos.proxy.errors import FaultProxyError


class FaultProxyServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, seed: int | None = None) -> None:
        self.host = host
        self.port = port
        self.seed = seed if seed is not None else random.SystemRandom().randrange(2**63)
        self.collection = ProxyCollection(self.seed)
        self._runner: web.AppRunner | None = None
        self._bound: tuple[str, int] | None = None

    @property
    def api_url(self) -> str:
        """``http://host:port`` of the API; raises RuntimeError before :meth:`start`."""
        if self._bound is None:
            raise RuntimeError("FaultProxyServer is not started")
        return f"http://{self._bound[0]}:{self._bound[1]}"

    def version_info(self) -> dict[str, object]:
        return {"version": TOXIPROXY_API_VERSION, "server": "govchaos", "seed": self.seed}

    async def start(self) -> None:
        """Start serving the API.

        Raises:
            FaultProxyError: the API address cannot be bound.
        """
        app = build_app(self.collection, self.version_info())
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise FaultProxyError(
                f"cannot listen on {self.host}:{self.port}: {exc.strerror or exc}"
            ) from exc
        self._runner = runner
        server = site._server  # aiohttp exposes no public accessor for the bound socket
        assert server is not None
        sockname = server.sockets[0].getsockname()  # type: ignore[union-attr]
        self._bound = (sockname[0], sockname[1])

    async def stop(self) -> None:
        """Stop the API, close every proxy listener and drop every proxied connection."""
        await self.collection.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FaultProxyServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
