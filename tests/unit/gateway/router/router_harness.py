"""Request-path unit test harness: a Router over a MockTransport (no sockets).

Not a conftest.py: the integration tests import their conftest by name, and a second
``conftest`` module would shadow it. Test modules import the fixtures from here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import socket

import pytest

from gateway.config import GatewayConfig
from gateway.ids import new_id
from gateway.request import ChatRequest
from gateway.router import Router
from gateway.transport import MockResponse, MockTransport, TransportRequest
from governance.decision import Decision, DecisionInput


class AllowPolicy:
    """Allows the candidates whose model is in ``allowed``; records every input."""

    def __init__(self, allowed: set[str]) -> None:
        self.allowed = allowed
        self.inputs: list[DecisionInput] = []

    async def decide(self, inp: DecisionInput) -> Decision:
        self.inputs.append(inp)
        ok = tuple(c.id for c in inp.candidates if c.id in self.allowed)
        return Decision(allow=bool(ok), allowed=ok, reasons=() if ok else ("no candidate allowed",),
                        denied={c.id: ("not allowed",) for c in inp.candidates if c.id not in ok})


class ListAudit:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def append_nowait(self, event: dict[str, Any]) -> int:
        self.events.append(event)
        return len(self.events)

    def kinds(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["kind"] == kind]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def ok_handler(req: TransportRequest) -> MockResponse:
    if req.stream:
        return MockResponse.sse("hel", "lo")
    return MockResponse.completion("hi", model=req.model or "m")


def config(models: list[tuple[str, str]], *, breaker: dict | None = None,
           hang_detection: dict | None = None, **route: Any) -> GatewayConfig:
    """Upstreams as (name, model) with base_url http://<name>/v1; one route ``r``."""
    route.setdefault("strategy", "priority")
    route.setdefault("attempt_timeout_ms", 1000)
    return GatewayConfig.model_validate({
        "auth": {"keys_env": "UNUSED"},
        "breaker": breaker or {"failure_threshold": 5, "open_ms": 2000, "probe": "request"},
        "hang_detection": hang_detection or {},
        "upstreams": [{"name": n, "base_url": f"http://{n}/v1", "model": m} for n, m in models],
        "routes": {"r": route},
        "default_route": "r",
    })


class Harness:
    def __init__(self, cfg: GatewayConfig, handler: Callable[..., Any], allowed: set[str]) -> None:
        self.transport = MockTransport(handler)
        self.policy = AllowPolicy(allowed)
        self.audit = ListAudit()
        self.clock = Clock()
        self.router = Router(cfg, engine=self.policy, audit=self.audit, transport=self.transport,
                             clock=self.clock)

    def request(self, *, model: str | None = None, stream: bool = False, **body: Any) -> ChatRequest:
        doc = {"messages": [{"role": "user", "content": "x"}], "stream": stream, **body}
        if model is not None:
            doc["model"] = model
        return ChatRequest(request_id=new_id(), tenant="t", route="r", body=doc, stream=stream)

    def tried(self) -> list[str]:
        """Upstream names in the order they were sent requests."""
        return [r.url.split("/")[2] for r in self.transport.requests]


@pytest.fixture(autouse=True)
def no_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests never touch the network: connecting or binding a socket fails them."""
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("request-path unit tests must not use sockets")

    for name in ("connect", "connect_ex", "bind"):
        monkeypatch.setattr(socket.socket, name, refuse)


@pytest.fixture
def harness() -> Callable[..., Harness]:
    def make(models: list[tuple[str, str]], handler: Callable[..., Any] = ok_handler, *,
             allowed: set[str] | None = None, **cfg: Any) -> Harness:
        return Harness(config(models, **cfg), handler,
                       allowed if allowed is not None else {m for _, m in models})
    return make
