"""A scenario's load section as the generator's LoadSpec (chaos/load/from_scenario.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.errors import RunBrokenError
from chaos.faults import default_registry
from chaos.load.from_scenario import client_texts, load_spec_for
from chaos.scenario import parse_scenario

SCENARIO = """\
name: mix
seed: 7
upstreams:
  - {name: a, model: llama-3.1-70b-private-eu, hosting: private, region: eu}
keys:
  - {tenant: acme-health, key: sk-test-key-0001}
load:
  rate_rps: 20
  arrival: poisson
  max_tokens: 32
  routes:
    - {route: claims-triage, tenant: acme-health, data_classes: [pii], region: eu, weight: 3}
    - {route: customer-chat, tenant: acme-health}
steady_state: {duration_s: 3}
faults:
  - {kind: upstream_down, target: a, at_s: 1, duration_s: 2}
recovery_s: 2
"""


def test_the_mix_carries_keys_classes_and_the_whole_run_s_duration() -> None:
    scenario = parse_scenario(SCENARIO.encode(), Path("s.yaml"), faults=default_registry()).scenario
    spec = load_spec_for(scenario)
    assert (spec.rate_rps, spec.arrival, spec.seed) == (20, "poisson", 7)
    assert spec.duration_s == scenario.planned_duration_s()
    triage, chat = spec.mix
    assert triage.api_key.get_secret_value() == "sk-test-key-0001" and triage.weight == 3
    assert [d.classes for d in triage.data_classes] == [("pii",)] and triage.region == "eu"
    assert [d.classes for d in chat.data_classes] == [("public",)]  # none declared: public
    assert {m.max_tokens for m in spec.mix} == {32}
    assert client_texts(spec) == (triage.prompt,)


def test_a_tenant_without_a_key_is_a_broken_run() -> None:
    text = SCENARIO.replace("    - {route: customer-chat, tenant: acme-health}\n",
                            "    - {route: customer-chat, tenant: globex-retail}\n")
    scenario = parse_scenario(text.encode(), Path("s.yaml"), faults=default_registry()).scenario
    with pytest.raises(RunBrokenError, match="no key declared for tenant 'globex-retail'"):
        load_spec_for(scenario)
