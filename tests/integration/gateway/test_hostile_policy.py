"""A pathological or contract-breaking policy fails closed with a 503 and never stalls the gateway.

The policy here is real Rego on the real regorus engine (evaluated in its child processes, on
the interpreter, which has no instruction limit): requests declaring the data class ``slow``
make it loop nine million times (~4 s here, little memory), far past ``decision_timeout_ms``;
requests declaring ``bad-*`` make it answer a decision that does not fit the contract.
"""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from conftest import API_KEY, make_config, run_gateway

from governance.engine import create_engine, load_bundle

M1 = "llama-3.1-70b-private-eu"
AUTH = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}
BODY = {"messages": [{"role": "user", "content": "hi"}]}

POLICY = f"""package govchaos.gateway

r := numbers.range(1, 3000)

slow := count([1 | some x in r; some y in r; x * y == 7]) if "slow" in input.data_classes

decision := {{"allow": slow < 0, "allowed": []}} if "slow" in input.data_classes

decision := {{"allow": "yes", "allowed": ["{M1}"]}} if "bad-allow" in input.data_classes

decision := {{"allow": true, "allowed": ["{M1}"], "obligations": {{"log_prompts": "no"}}}} if {{
	"bad-obligation" in input.data_classes
}}

decision := {{"allow": true, "allowed": ["{M1}"], "obligations": {{"log_prompts": false}}}} if {{
	not "slow" in input.data_classes
	not startswith(concat(",", input.data_classes), "bad-")
}}
"""


@pytest.fixture
def hostile_engine(tmp_path):
    (tmp_path / "p.rego").write_text(POLICY)
    engine = create_engine("regorus", load_bundle(tmp_path), decision_timeout_ms=400, cache=False,
                           mode="interpreter")
    yield engine
    engine.pool.close()


def _post(h: httpx.AsyncClient, classes: str):
    return h.post("/v1/chat/completions", json=BODY,
                  headers={**AUTH, "X-Govchaos-Data-Classes": classes})


async def test_pathological_decision_times_out_while_others_are_served(mocks, hostile_engine) -> None:
    a = await mocks("a")
    cfg = make_config([("a", a, M1)])
    async with run_gateway(cfg, hostile_engine) as gw:
        async with httpx.AsyncClient(base_url=gw.url, timeout=10) as h:
            assert (await _post(h, "public")).status_code == 200  # warm
            before = set(hostile_engine.pool.pids)
            slow = asyncio.create_task(_post(h, "slow"))
            await asyncio.sleep(0.05)  # the slow decision now occupies one evaluation process
            t0 = time.perf_counter()
            fast = await asyncio.gather(*(_post(h, "public") for _ in range(8)))
            fast_s = time.perf_counter() - t0
            r = await slow
            after = await _post(h, "public")
            for _ in range(200):  # the stuck child is killed and a fresh one compiled
                if hostile_engine.pool.replacements == 1 and len(hostile_engine.pool.pids) == 2:
                    break
                await asyncio.sleep(0.025)
        pids = set(hostile_engine.pool.pids)
        assert hostile_engine.pool.replacements == 1 and len(pids) == 2 and len(pids & before) == 1
        assert [f.status_code for f in fast] == [200] * 8
        # Served while the pathological decision was still running (it needs seconds).
        assert fast_s < 0.4, fast_s
        assert r.status_code == 503, r.text
        err = r.json()["error"]
        assert err["code"] == "policy_unavailable"
        assert err["reasons"][0].startswith("policy_timeout"), err
        assert after.status_code == 200  # the gateway lives on, the stuck process was replaced
        assert len(a.log) == 10  # warm + 8 fast + after; never the timed-out one
        decisions = gw.audit.kinds("decision")
        timed_out = [d for d in decisions if d["result"]["reasons"][:1]
                     and d["result"]["reasons"][0].startswith("policy_timeout")]
        assert len(timed_out) == 1 and "request" not in timed_out[0]  # fail closed: no prompt


@pytest.mark.parametrize(("classes", "field"), [
    ("bad-allow", "allow"), ("bad-obligation", "obligations.log_prompts")])
async def test_decision_outside_the_contract_is_503_and_audited(mocks, hostile_engine, classes,
                                                                field) -> None:
    a = await mocks("a")
    async with run_gateway(make_config([("a", a, M1)]), hostile_engine) as gw:
        async with httpx.AsyncClient(base_url=gw.url, timeout=10) as h:
            r = await _post(h, classes)
        assert r.status_code == 503, r.text
        err = r.json()["error"]
        assert err["code"] == "policy_unavailable"
        assert err["reasons"][0].startswith(f"policy_output_invalid: {field}:"), err
        assert a.log == []  # fail closed: no upstream was called
        (decision,) = gw.audit.kinds("decision")
        assert decision["result"]["reasons"] == err["reasons"]
        assert decision["result"]["allow"] is False and "request" not in decision
