"""Property (DESIGN.md §5.1): across random policies, candidate sets and injected failures, no
upstream ever receives a request its decision did not allow — judged from the upstreams' own
logs, not from what the gateway reports.

The gateway and mocks run in a background event loop for the whole test; hypothesis drives
plain synchronous HTTP requests against it.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx
from conftest import API_KEY, RulePolicy, make_config, run_gateway
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mock_upstream import MockUpstream

from gateway.config import GatewayConfig

MODELS = ("llama-3.1-70b-private-eu", "llama-3.1-8b-private-eu", "gpt-4o-cloud-eu",
          "llama-3.1-70b-private-us")
NAMES = ("u0", "u1", "u2", "u3", "u4")  # u4 serves MODELS[0] too (two upstreams, one model)
FAULTS = ("ok", "500", "429", "malformed", "empty", "schema_bad")
ROUTES = {"all": None, "pair": ["u0", "u2"], "trio": ["u1", "u3", "u4"], "solo": ["u2"]}


class Harness:
    """Mocks + one gateway in a background loop; the policy's allow-set is swapped per example."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.stop = asyncio.Event()
        self.mocks: dict[str, MockUpstream] = {}
        self.allowed: set[str] = set()
        self.policy = RulePolicy(lambda inp, c: c.id in self.allowed)
        self.url = ""
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._main(),),
                                       daemon=True)

    async def _main(self) -> None:
        try:
            await self._serve()
        finally:
            self.ready.set()  # never leave the test waiting on a failed start

    async def _serve(self) -> None:
        self.stop = asyncio.Event()
        for n in NAMES:
            self.mocks[n] = await MockUpstream(n).start()
        ups = [(n, self.mocks[n], MODELS[i % len(MODELS)]) for i, n in enumerate(NAMES)]
        base = make_config(ups, attempt_timeout_ms=500, retry_budget=4,
                           response_schema={"type": "object", "required": ["answer"]},
                           breaker={"failure_threshold": 1000, "open_ms": 1000})
        raw = base.model_dump(mode="json")
        raw["default_route"] = None
        raw["routes"] = {name: {**raw["routes"]["r"], "upstreams": ups_} for name, ups_ in ROUTES.items()}
        cfg = GatewayConfig.model_validate(raw)
        try:
            async with run_gateway(cfg, self.policy) as gw:
                self.gw = gw
                self.url = gw.url
                self.ready.set()
                await self.stop.wait()
        finally:
            for m in self.mocks.values():
                await m.stop()

    def __enter__(self) -> "Harness":
        self.thread.start()
        assert self.ready.wait(20) and self.url
        return self

    def __exit__(self, *exc: Any) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(10)


@given(
    allowed=st.sets(st.sampled_from(MODELS)),
    route=st.sampled_from(sorted(ROUTES)),
    faults=st.fixed_dictionaries({n: st.sampled_from(FAULTS) for n in NAMES}),
    stream=st.booleans(),
)
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def check_no_disallowed_call(h: Harness, client: httpx.Client, allowed: set[str], route: str,
                             faults: dict[str, str], stream: bool) -> None:
    h.allowed = allowed
    for n, mode in faults.items():
        h.mocks[n].mode = mode
        h.mocks[n].retry_after = "0"
    before = {n: len(m.log) for n, m in h.mocks.items()}
    r = client.post("/v1/chat/completions", headers={
        "Authorization": f"Bearer {API_KEY}", "X-Govchaos-Route": route},
        json={"model": "auto", "stream": stream, "messages": [{"role": "user", "content": "x"}]})
    route_models = {MODELS[NAMES.index(n) % len(MODELS)] for n in (ROUTES[route] or NAMES)}
    permitted = allowed & route_models
    for n, m in h.mocks.items():
        for got in m.log[before[n]:]:
            assert got.model in permitted, f"{n} received {got.model}; allowed {permitted}"
    if not permitted:
        assert r.status_code in (403, 503)
    elif r.status_code == 200:
        assert r.headers["x-govchaos-served-by"] in permitted
    else:
        assert r.status_code == 503, r.text


def test_no_upstream_receives_a_disallowed_request() -> None:
    with Harness() as h, httpx.Client(base_url=h.url, timeout=10) as client:
        check_no_disallowed_call(h, client)
        # and the audit trail agrees with the mocks: every attempt's model was allowed by its decision
        decisions = {e["decision_id"]: set(e["result"]["allowed"]) for e in h.gw.audit.kinds("decision")}
        for e in h.gw.audit.kinds("attempt"):
            assert e["model"] in decisions[e["decision_id"]]
