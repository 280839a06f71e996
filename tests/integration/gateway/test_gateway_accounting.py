"""Token and cost accounting through the running gateway: /metrics after one request, the
attempt audit record, streamed usage chunks (kept from a client that did not ask), estimates."""

from __future__ import annotations

import httpx
import orjson
from conftest import API_KEY, TENANT, RulePolicy, make_config, run_gateway

from gateway.config import GatewayConfig

M1 = "llama-3.1-70b-private-eu"
HEADERS = {"Authorization": f"Bearer {API_KEY}"}
PROMPT = "twelve chars"  # 12 characters: 3 estimated prompt tokens


def priced(cfg: GatewayConfig, usd_per_1k: float) -> GatewayConfig:
    return cfg.model_copy(update={"upstreams": tuple(
        u.model_copy(update={"cost_per_1k_tokens": usd_per_1k}) for u in cfg.upstreams)})


def body(**extra: object) -> dict:
    return {"model": "auto", "messages": [{"role": "user", "content": PROMPT}], **extra}


def metric(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample of the Prometheus text exposition (None: absent)."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(name + "{"):
            got = line[len(name) + 1:line.index("}")]
            if ",".join(sorted(got.split(","))) == want:
                return float(line.rsplit(" ", 1)[1])
    return None


async def test_metrics_expose_tokens_and_cost_after_one_request(mocks) -> None:
    a = await mocks("a")
    a.usage = {"prompt_tokens": 400, "completion_tokens": 100, "total_tokens": 500}
    async with run_gateway(priced(make_config([("a", a, M1)]), 2.0), RulePolicy({M1})) as gw:
        async with httpx.AsyncClient(base_url=gw.url, timeout=10) as h:
            r = await h.post("/v1/chat/completions", json=body(), headers=HEADERS)
            assert r.status_code == 200
            text = (await h.get("/metrics")).text
    base = {"route": "r", "tenant": TENANT, "model": M1}
    assert metric(text, "govchaos_tokens_total", **base, kind="prompt") == 400
    assert metric(text, "govchaos_tokens_total", **base, kind="completion") == 100
    assert metric(text, "govchaos_cost_usd_total", **base) == 1.0  # 500 tokens at $2 per 1k
    assert metric(text, "govchaos_tokens_total", **base, kind="prompt_estimated") is None
    [attempt] = gw.audit.kinds("attempt")
    assert attempt["tokens"] == {"prompt": 400, "completion": 100, "estimated": False}
    assert attempt["cost_usd"] == 1.0


async def test_missing_usage_is_estimated_and_marked(mocks) -> None:
    a = await mocks("a", content="x" * 9)  # 9 characters: 3 estimated completion tokens
    a.usage = None
    async with run_gateway(priced(make_config([("a", a, M1)]), 1.0), RulePolicy({M1})) as gw:
        async with httpx.AsyncClient(base_url=gw.url, timeout=10) as h:
            assert (await h.post("/v1/chat/completions", json=body(), headers=HEADERS)
                    ).status_code == 200
            text = (await h.get("/metrics")).text
    base = {"route": "r", "tenant": TENANT, "model": M1}
    assert metric(text, "govchaos_tokens_total", **base, kind="prompt_estimated") == 3
    assert metric(text, "govchaos_tokens_total", **base, kind="completion_estimated") == 3
    assert metric(text, "govchaos_tokens_total", **base, kind="prompt") is None
    [attempt] = gw.audit.kinds("attempt")
    assert attempt["tokens"] == {"prompt": 3, "completion": 3, "estimated": True}
    assert attempt["cost_usd"] == 0.006


async def _stream(url: str, **extra: object) -> list[bytes]:
    async with httpx.AsyncClient(base_url=url, timeout=10) as h:
        async with h.stream("POST", "/v1/chat/completions", json=body(stream=True, **extra),
                            headers=HEADERS) as r:
            assert r.status_code == 200
            raw = b"".join([c async for c in r.aiter_bytes()])
    return [f for f in raw.split(b"\n\n") if f]


async def test_stream_usage_chunk_is_counted_and_kept_from_a_client_that_did_not_ask(mocks) -> None:
    a = await mocks("a")
    a.usage = {"prompt_tokens": 7, "completion_tokens": 5, "total_tokens": 12}
    async with run_gateway(priced(make_config([("a", a, M1)]), 1.0), RulePolicy({M1})) as gw:
        frames = await _stream(gw.url)
        assert not any(b'"usage"' in f for f in frames) and frames[-1] == b"data: [DONE]"
        asked = await _stream(gw.url, stream_options={"include_usage": True})
        usage = [orjson.loads(f[6:]) for f in asked if b'"usage"' in f]
        assert [u["usage"]["total_tokens"] for u in usage] == [12]
    attempts = gw.audit.kinds("attempt")
    assert [a["tokens"] for a in attempts] == [
        {"prompt": 7, "completion": 5, "estimated": False}] * 2
    assert [a["cost_usd"] for a in attempts] == [0.012, 0.012]
