"""A set of simulated upstreams run together in this process (tests, the fleet process).

>>> fleet = UpstreamFleet([MockUpstreamSpec(name="a", model="gpt-4o-cloud-eu")])
>>> # async with fleet: fleet["a"].url; await fleet.kill("a"); await fleet.restart("a")

"kill" means the upstream's socket disappears: the listener closes (new connections are
refused) and open connections are reset, which is what a gateway sees when a worker dies.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from governance.registry import did_you_mean

from chaos.providers.errors import ProviderError, UnknownUpstreamError
from chaos.providers.faults import FAULTS, UpstreamFaultRegistry
from chaos.providers.models import FaultSpec, MockUpstreamSpec, RequestLogEntry, UpstreamInfo
from chaos.providers.upstream import SimulatedUpstream


class UpstreamFleet:
    """Named upstreams started and stopped together.

    Raises (constructor):
        ProviderError: two upstreams share a name.
    """

    def __init__(
        self,
        specs: Iterable[MockUpstreamSpec],
        *,
        log_dir: str | Path | None = None,
        registry: UpstreamFaultRegistry = FAULTS,
    ) -> None:
        self._upstreams: dict[str, SimulatedUpstream] = {}
        for spec in specs:
            if spec.name in self._upstreams:
                raise ProviderError(f"upstream name {spec.name!r} used twice")
            if spec.log_file is None and log_dir is not None:
                spec = spec.model_copy(update={"log_file": str(Path(log_dir) / f"{spec.name}.jsonl")})
            self._upstreams[spec.name] = SimulatedUpstream(spec, registry=registry)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._upstreams)

    def __getitem__(self, name: str) -> SimulatedUpstream:
        """The upstream called ``name``.

        Raises:
            UnknownUpstreamError: no such upstream (suggests the closest names).
        """
        try:
            return self._upstreams[name]
        except KeyError:
            hint = did_you_mean(name, self._upstreams)
            raise UnknownUpstreamError(f"unknown upstream {name!r}{hint}") from None

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._upstreams.values())

    async def start(self) -> None:
        """Start every upstream; on a failure, stop the ones already started and re-raise."""
        started: list[SimulatedUpstream] = []
        try:
            for upstream in self._upstreams.values():
                await upstream.start()
                started.append(upstream)
        except BaseException:
            for upstream in started:
                await upstream.stop()
            raise

    async def stop(self) -> None:
        for upstream in self._upstreams.values():
            await upstream.stop()

    async def __aenter__(self) -> UpstreamFleet:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def kill(self, name: str) -> None:
        await self[name].kill()

    async def restart(self, name: str) -> None:
        await self[name].restart()

    def set_fault(self, name: str, kind: str, **params: Any) -> FaultSpec:
        return self[name].set_fault(kind, **params)

    def clear_fault(self, name: str) -> None:
        self[name].clear_fault()

    def urls(self) -> dict[str, str]:
        return {name: upstream.url for name, upstream in self._upstreams.items()}

    def info(self) -> dict[str, UpstreamInfo]:
        return {name: upstream.info() for name, upstream in self._upstreams.items()}

    def request_log(self) -> list[RequestLogEntry]:
        """Every upstream's entries, merged in arrival order."""
        merged = [entry for upstream in self._upstreams.values() for entry in upstream.request_log]
        merged.sort(key=lambda entry: entry.received_mono)
        return merged
