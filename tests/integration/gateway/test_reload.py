"""Config reload (gateway.reload) in process: budget spend and unchanged upstreams' breaker
state carry over, a new policy bundle takes effect at once, and a bad config or bundle is
rejected, located, while the old one keeps serving."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from conftest import API_KEY, TENANT, RulePolicy, make_config, run_gateway
from pydantic import SecretStr

from gateway.config import GatewayConfig
from gateway.credentials import ResolvedSecrets
from gateway.errors import ConfigError
from governance.errors import GovchaosError

M1, M2 = "llama-3.1-70b-private-eu", "llama-3.1-8b-private-eu"
HEADERS = {"Authorization": f"Bearer {API_KEY}"}
BODY = {"model": "auto", "messages": [{"role": "user", "content": "hello"}]}
SECRETS = ResolvedSecrets(api_keys=((SecretStr(API_KEY), TENANT),))


def with_(cfg: GatewayConfig, **update: object) -> GatewayConfig:
    return GatewayConfig.model_validate({**cfg.model_dump(), **update})


def budgeted(a, b, usd_per_hour: float, timeout_ms: float = 500) -> GatewayConfig:
    cfg = make_config([("a", a, M1), ("b", b, M2)], attempt_timeout_ms=timeout_ms,
                      breaker={"failure_threshold": 1, "open_ms": 60_000})
    return with_(cfg, budgets=[{"scope": "tenant", "name": TENANT, "usd_per_hour": usd_per_hour}],
                 upstreams=[{**u.model_dump(), "cost_per_1k_tokens": 1.0} for u in cfg.upstreams])


async def test_reload_keeps_budget_spend_and_breaker_state(mocks) -> None:
    a, b = await mocks("a"), await mocks("b")
    b.usage = {"prompt_tokens": 400, "completion_tokens": 100, "total_tokens": 500}
    policy = RulePolicy({M1, M2})
    async with run_gateway(budgeted(a, b, 1.0), policy) as gw:
        a.mode = "500"
        async with httpx.AsyncClient(base_url=gw.url, timeout=10) as h:
            r = await h.post("/v1/chat/completions", json=BODY, headers=HEADERS)
            assert r.headers["x-govchaos-upstream"] == "b"  # a failed: its breaker opened
            old = gw.runtime.router
            assert old.upstreams["a"].breaker.state == "open"
            carried = await gw.runtime.reload(budgeted(a, b, 2.0, timeout_ms=700), SECRETS)
            new = gw.runtime.router
            assert new is not old and new.routes["r"].timeout_s == 0.7
            assert sorted(carried) == ["a", "b"]
            assert new.upstreams["a"].breaker.state == "open"
            a.mode = "ok"
            r = await h.post("/v1/chat/completions", json=BODY, headers=HEADERS)
            assert r.status_code == 200 and r.headers["x-govchaos-upstream"] == "b"
        # $0.5 spent before the reload, of the new $2.0 limit; then $0.5 more
        budgets = [inp.budget["tenant"].remaining_ratio for inp in policy.inputs]
        assert budgets == [1.0, 0.75]
        assert new.budgets.state(TENANT, "r")["tenant"].spent_usd == 1.0
    assert len([x for x in a.log if not x.probe]) == 1  # only the first request reached a


async def test_a_changed_upstream_starts_fresh(mocks) -> None:
    a, b = await mocks("a"), await mocks("b")
    async with run_gateway(budgeted(a, b, 1.0), RulePolicy({M1, M2})) as gw:
        a.mode = "500"
        async with httpx.AsyncClient(base_url=gw.url, timeout=10) as h:
            await h.post("/v1/chat/completions", json=BODY, headers=HEADERS)
        cfg = budgeted(a, b, 1.0)
        cfg = with_(cfg, upstreams=[{**cfg.upstreams[0].model_dump(), "tags": ["new"]},
                                    cfg.upstreams[1].model_dump()])
        assert await gw.runtime.reload(cfg, SECRETS) == ["b"]
        assert gw.runtime.router.upstreams["a"].breaker.state == "closed"


@pytest.mark.parametrize("field, update", [
    ("audit", {"audit": {"path": "/tmp/elsewhere.jsonl"}}),
    ("limits", {"limits": {"max_body_bytes": 10}}),
    ("upstream_client", {"upstream_client": "aiohttp"}),
])
async def test_restart_only_changes_are_rejected_and_the_old_config_serves(
        mocks, field: str, update: dict) -> None:
    a, b = await mocks("a"), await mocks("b")
    cfg = budgeted(a, b, 1.0)
    async with run_gateway(cfg, RulePolicy({M1, M2})) as gw:
        before = gw.runtime.router
        with pytest.raises(ConfigError) as info:
            await gw.runtime.reload(with_(cfg, **update), SECRETS, source=Path("gw.yaml"))
        assert info.value.location.field == field and info.value.location.file == "gw.yaml"
        assert gw.runtime.router is before and gw.runtime.app.router is before
        async with httpx.AsyncClient(base_url=gw.url, timeout=10) as h:
            assert (await h.post("/v1/chat/completions", json=BODY, headers=HEADERS)
                    ).status_code == 200


POLICY = '''package govchaos.gateway

decision := {"allow": count(allowed) > 0, "allowed": allowed, "denied": {}, "reasons": [],
             "obligations": {}}

allowed := sort([c.id | some c in input.candidates; c.id in data.allowed])
'''


async def test_a_new_policy_bundle_takes_effect_and_a_broken_one_is_rejected(
        mocks, tmp_path: Path) -> None:
    a, b = await mocks("a"), await mocks("b")
    (tmp_path / "data").mkdir()
    (tmp_path / "gateway.rego").write_text(POLICY)
    (tmp_path / "data" / "allowed.yaml").write_text(f"allowed: [{M1}]\n")
    cfg = with_(make_config([("a", a, M1), ("b", b, M2)]), policy={"bundle": str(tmp_path)})
    async with run_gateway(cfg, None) as gw:
        async with httpx.AsyncClient(base_url=gw.url, timeout=10) as h:
            async def served() -> str:
                r = await h.post("/v1/chat/completions", json=BODY, headers=HEADERS)
                assert r.status_code == 200, r.text
                return r.headers["x-govchaos-upstream"]

            assert await served() == "a"
            (tmp_path / "data" / "allowed.yaml").write_text(f"allowed: [{M2}]\n")
            await gw.runtime.reload(cfg, SECRETS)
            assert await served() == "b"
            (tmp_path / "gateway.rego").write_text(POLICY + "\nbroken := {\n")
            engine = gw.runtime.engine
            with pytest.raises(GovchaosError) as info:
                await gw.runtime.reload(cfg, SECRETS)
            assert "gateway.rego" in info.value.diagnostics()
            assert gw.runtime.engine is engine
            assert await served() == "b"
