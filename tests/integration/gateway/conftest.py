"""Factories for the gateway integration tests: mock upstreams, a rule-based fake policy engine,
an in-memory audit sink, and an in-process gateway served by uvicorn on 127.0.0.1:0."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).parent))

from mock_upstream import MockUpstream  # noqa: E402

from gateway.config import GatewayConfig  # noqa: E402
from gateway.credentials import ResolvedSecrets  # noqa: E402
from gateway.runtime import GatewayRuntime  # noqa: E402
from gateway.server import _Server, bind, uvicorn_config  # noqa: E402
from governance.decision import Decision, DecisionInput  # noqa: E402

API_KEY = "sk-test-key"
TENANT = "acme-health"


class RulePolicy:
    """Fake PolicyEngine: allow the candidates ``allow(inp, candidate)`` accepts; logs inputs."""

    def __init__(self, allow: Callable[[DecisionInput, Any], bool] | set[str],
                 *, obligations: dict | None = None, fail: bool = False) -> None:
        self.allow = (lambda inp, c: c.id in allow) if isinstance(allow, set) else allow
        self.obligations = obligations or {}
        self.fail = fail
        self.inputs: list[DecisionInput] = []
        self.decisions: list[Decision] = []

    async def decide(self, inp: DecisionInput) -> Decision:
        self.inputs.append(inp)
        if self.fail:
            raise RuntimeError("engine exploded")
        ok = [c.id for c in inp.candidates if self.allow(inp, c)]
        denied = {c.id: ("not allowed by test policy",) for c in inp.candidates if c.id not in ok}
        d = Decision(allow=bool(ok), allowed=tuple(ok), denied=denied,
                     reasons=() if ok else ("no candidate allowed",), obligations=self.obligations)
        self.decisions.append(d)
        return d


class ListAudit:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def append_nowait(self, event: dict[str, Any]) -> int:
        self.events.append(event)
        return len(self.events)

    def kinds(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["kind"] == kind]


def make_config(upstreams: list[tuple[str, MockUpstream, str]], **route: Any) -> GatewayConfig:
    """Upstreams as (name, mock, catalog model id); one route ``r`` over all of them."""
    route.setdefault("attempt_timeout_ms", 500)
    route.setdefault("strategy", "priority")
    return GatewayConfig.model_validate({
        "auth": {"keys_env": "UNUSED"},
        "breaker": route.pop("breaker", {"failure_threshold": 5, "open_ms": 2000}),
        "limits": {"max_body_bytes": route.pop("max_body_bytes", 65536), **route.pop("limits", {})},
        "upstreams": [
            {"name": n, "base_url": m.base_url, "model": model, "hosting": "private",
             "region": "eu-central-1", **({"gpu": {"device": i}} if route.get("_gpu") else {})}
            for i, (n, m, model) in enumerate(upstreams)
        ],
        "routes": {"r": {k: v for k, v in route.items() if not k.startswith("_")}},
        "default_route": "r",
    })


class RunningGateway:
    def __init__(self, url: str, runtime: GatewayRuntime, audit: ListAudit) -> None:
        self.url = url
        self.runtime = runtime
        self.audit = audit


@contextlib.asynccontextmanager
async def run_gateway(cfg: GatewayConfig, engine: Any, *, telemetry: Any = None
                      ) -> AsyncIterator[RunningGateway]:
    audit = ListAudit()
    secrets = ResolvedSecrets(api_keys=((SecretStr(API_KEY), TENANT),))
    sock = bind("127.0.0.1", 0)
    async with GatewayRuntime.start(cfg, secrets, engine=engine, audit=audit,
                                    telemetry=telemetry) as rt:
        server = _Server(uvicorn_config(rt.app, cfg.limits))
        task = asyncio.create_task(server.serve(sockets=[sock]))
        for _ in range(400):
            if server.started:
                break
            await asyncio.sleep(0.005)
        port = sock.getsockname()[1]
        try:
            yield RunningGateway(f"http://127.0.0.1:{port}", rt, audit)
        finally:
            server.should_exit = True
            server.force_exit = True
            await asyncio.wait_for(task, 5)
    sock.close()


@pytest.fixture
async def mocks() -> AsyncIterator[Callable[..., Any]]:
    started: list[MockUpstream] = []

    async def factory(name: str, **kw: Any) -> MockUpstream:
        m = await MockUpstream(name, **kw).start()
        started.append(m)
        return m

    yield factory
    for m in started:
        await m.stop()
