"""What fault kinds act on during a run: the :class:`~chaos.faults.base.FaultContext` controls
over the run's real components.

- :class:`FaultProxyControl` — the fault kinds' ``ProxyControl`` over the Toxiproxy API client of
  the run's fault proxy (upstream names mapped to the proxies this run created);
- :class:`FleetProviderControl` — the fault kinds' ``ProviderControl`` over the simulated
  upstreams' fleet processes.

:class:`~chaos.runner.stack.RunStack` builds both once its components are up and is itself the
``FaultContext`` (with the GPU control file and the scenario's upstreams).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chaos.providers import FleetProcess
    from chaos.proxy.control import ProxyControl as ToxiproxyClient


class FaultProxyControl:
    """The fault kinds' ProxyControl protocol over the Toxiproxy API client."""

    def __init__(self, control: ToxiproxyClient, names: Mapping[str, str]) -> None:
        self._control = control
        self._names = names  # upstream name -> proxy name

    async def set_enabled(self, upstream: str, enabled: bool) -> None:
        name = self._names[upstream]
        await (self._control.enable(name) if enabled else self._control.disable(name))

    async def add_toxic(
        self,
        upstream: str,
        name: str,
        toxic_type: str,
        *,
        stream: str,
        toxicity: float,
        attributes: dict[str, Any],
    ) -> None:
        from chaos.proxy.control import ToxicSpec

        spec = ToxicSpec(
            type=toxic_type, name=name, stream=stream, toxicity=toxicity, attributes=attributes
        )
        await self._control.add_toxic(self._names[upstream], spec)

    async def remove_toxic(self, upstream: str, name: str) -> None:
        await self._control.remove_toxic(self._names[upstream], name)


class FleetProviderControl:
    """The fault kinds' ProviderControl protocol over the fleet processes' control APIs.

    An upstream that a fault kills runs in a fleet process of its own (``isolated``): killing
    it is SIGKILL on that process and restarting it is a new process on the same port, so
    every connection it held dies with it, as when a real worker dies.
    """

    def __init__(self, shared: FleetProcess | None, isolated: Mapping[str, FleetProcess]) -> None:
        self._shared = shared  # hosts the upstreams no fault kills (None: every one is isolated)
        self._isolated = isolated  # upstream name -> its own FleetProcess

    def _fleet(self, upstream: str) -> FleetProcess:
        fleet = self._isolated.get(upstream) or self._shared
        if fleet is None:
            raise KeyError(f"no fleet process hosts upstream {upstream!r}")
        return fleet

    async def set_fault(self, upstream: str, kind: str, params: dict[str, Any]) -> None:
        await self._fleet(upstream).control.set_fault(upstream, kind, **params)

    async def clear_fault(self, upstream: str) -> None:
        await self._fleet(upstream).control.clear_fault(upstream)

    async def kill(self, upstream: str) -> None:
        if upstream in self._isolated:
            await self._isolated[upstream].kill()
        else:
            await self._fleet(upstream).control.kill(upstream)

    async def restart(self, upstream: str) -> None:
        if upstream in self._isolated:
            await self._isolated[upstream].restart()
        else:
            await self._fleet(upstream).control.restart(upstream)
