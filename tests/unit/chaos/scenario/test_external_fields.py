"""The external target's fields: warm-up, command lookup, env, route models."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.errors import ScenarioError
from chaos.faults import default_registry
from chaos.scenario import parse_scenario

BASE = """\
name: ext
upstreams:
  - {name: a, model: gpt-4o-cloud-eu, hosting: cloud, region: eu}
keys:
  - {tenant: globex-retail, key: sk-test-key-0001}
load:
  rate_rps: 10
  duration_s: 2
  routes:
    - {route: customer-chat, tenant: globex-retail}
    - {route: claims-triage, tenant: globex-retail, model: explicit-model}
steady_state: {duration_s: 3}
recovery_s: 1
target:
"""


def _parse(target: str):
    return parse_scenario((BASE + target).encode(), Path("s.yaml"), faults=default_registry())


def test_warmup_adds_to_the_planned_duration() -> None:
    plain = _parse("  kind: external\n  base_url: http://127.0.0.1:4000\n")
    warm = _parse("  kind: external\n  base_url: http://127.0.0.1:4000\n  warmup_s: 5\n")
    assert warm.scenario.planned_duration_s() == plain.scenario.planned_duration_s() + 5 == 14
    reference = parse_scenario(BASE.replace("target:\n", "target: {kind: reference, warmup_s: 2}\n").encode(),
                               Path("s.yaml"), faults=default_registry())
    assert reference.scenario.target.kind == "reference"
    assert reference.scenario.target.warmup_s == 2


@pytest.mark.parametrize(("target", "field", "reason"), [
    ("  kind: external\n  base_url: u\n  env: {A: b}\n", "target.env",
     "only meaningful with a command"),
    ("  kind: external\n  base_url: u\n  command_path: [bin]\n", "target.command_path",
     "only meaningful with a command"),
    ("  kind: external\n  base_url: u\n  command: []\n", "target.command", "at least 1"),
    ("  kind: external\n  base_url: u\n  warmup_s: -1\n", "target.warmup_s",
     "greater than or equal to 0"),
    ("  kind: external\n  base_url: u\n  route_models: {code-assistant: x}\n",
     "target.route_models", "'code-assistant' is not a load route"),
])
def test_bad_external_fields_are_located(target: str, field: str, reason: str) -> None:
    with pytest.raises(ScenarioError) as info:
        _parse(target)
    assert info.value.location.field == field
    assert info.value.location.line is not None
    assert reason in info.value.message


def test_route_models_set_the_body_model_unless_the_route_mix_has_one() -> None:
    from chaos.load.from_scenario import load_spec_for

    loaded = _parse("  kind: external\n  base_url: u\n"
                    "  route_models: {customer-chat: chat-group, claims-triage: ignored}\n")

    models = {m.route: m.model for m in load_spec_for(loaded.scenario).mix}
    assert models == {"customer-chat": "chat-group", "claims-triage": "explicit-model"}


def test_one_api_key_for_every_tenant() -> None:
    from chaos.load.from_scenario import load_spec_for

    loaded = _parse("  kind: external\n  base_url: u\n  api_key: sk-master-key-0001\n")

    spec = load_spec_for(loaded.scenario)
    assert {m.api_key.get_secret_value() for m in spec.mix} == {"sk-master-key-0001"}
