"""A recording FaultContext for fault-kind tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chaos.scenario.model import UpstreamSpec


@dataclass
class Recorder:
    calls: list[tuple[Any, ...]] = field(default_factory=list)


class FakeProxy:
    def __init__(self, rec: Recorder) -> None:
        self.rec = rec

    async def set_enabled(self, upstream: str, enabled: bool) -> None:
        self.rec.calls.append(("enabled", upstream, enabled))

    async def add_toxic(self, upstream, name, toxic_type, *, stream, toxicity, attributes):
        self.rec.calls.append(("add_toxic", upstream, toxic_type, stream, toxicity, attributes))

    async def remove_toxic(self, upstream: str, name: str) -> None:
        self.rec.calls.append(("remove_toxic", upstream))


class FakeProviders:
    def __init__(self, rec: Recorder) -> None:
        self.rec = rec

    async def set_fault(self, upstream, kind, params):
        self.rec.calls.append(("set_fault", upstream, kind, params))

    async def clear_fault(self, upstream):
        self.rec.calls.append(("clear_fault", upstream))

    async def kill(self, upstream):
        self.rec.calls.append(("kill", upstream))

    async def restart(self, upstream):
        self.rec.calls.append(("restart", upstream))


class FakeGpu:
    def __init__(self, rec: Recorder) -> None:
        self.rec = rec

    def set(self, device, state, *, xid, reason):
        self.rec.calls.append(("gpu_set", device, state, xid))

    def clear(self, device):
        self.rec.calls.append(("gpu_clear", device))


class FakeContext:
    def __init__(self, upstreams: list[UpstreamSpec]) -> None:
        self.rec = Recorder()
        self.proxy = FakeProxy(self.rec)
        self.providers = FakeProviders(self.rec)
        self.gpu = FakeGpu(self.rec)
        self._upstreams = {u.name: u for u in upstreams}

    def upstream(self, name: str) -> UpstreamSpec:
        return self._upstreams[name]


def context() -> FakeContext:
    return FakeContext(
        [
            UpstreamSpec(name="cloud", model="gpt-4o-cloud-eu", hosting="cloud", region="eu"),
            UpstreamSpec(
                name="gpu", model="llama-3.1-70b-private-eu", hosting="private", region="eu",
                gpu_device=0,
            ),
        ]
    )
