"""load.workflows in the scenario model: located errors for bad workflows."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from chaos.scenario.model import Scenario

UPSTREAMS = [{"name": "a", "model": "gpt-4o-cloud-eu", "hosting": "cloud", "region": "eu"}]
STEPS = [{"id": "read", "route": "claims-triage", "data_classes": ["pii"], "text": "doc"},
         {"id": "draft", "route": "customer-chat", "from": ["read"], "transform": "redact"}]


def scenario(load: dict, **extra: object) -> Scenario:
    return Scenario.model_validate({"name": "x", "upstreams": UPSTREAMS, "load": load, **extra})


def test_a_workflow_scenario_loads() -> None:
    s = scenario({"workflows": [{"name": "claims", "tenant": "t", "rate_per_s": 5,
                                 "steps": STEPS}]},
                 assertions=[{"metric": "data_flow_violations", "op": "==", "value": 0,
                              "where": {"workflow": "claims", "step": "draft"}}])
    assert s.load.workflows[0].steps[1].from_ == ("read",) and s.load.rate_rps is None


@pytest.mark.parametrize(("load", "message"), [
    ({"rate_rps": 5}, "either `routes` or `workflows`"),
    ({"workflows": [{"name": "c", "tenant": "t", "rate_per_s": 5, "steps": STEPS}],
      "rate_rps": 5}, "workflows set their own `rate_per_s`"),
    ({"workflows": [{"name": "c", "tenant": "t", "rate_per_s": 5,
                     "steps": [STEPS[1]]}]}, "'read' is not an earlier step"),
    ({"workflows": [{"name": "c", "tenant": "t", "rate_per_s": 5,
                     "steps": [{"id": "s", "route": "r"}]}]}, "exactly one input"),
    ({"workflows": [{"name": "c", "tenant": "t", "rate_per_s": 5,
                     "steps": [STEPS[0], STEPS[0]]}]}, "duplicate step id"),
])
def test_bad_workflows_are_located_errors(load: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        scenario(load)


def test_an_assertion_scope_must_name_a_declared_step() -> None:
    with pytest.raises(ValidationError, match="unknown step 'nope'"):
        scenario({"workflows": [{"name": "claims", "tenant": "t", "rate_per_s": 5,
                                 "steps": STEPS}]},
                 assertions=[{"metric": "workflow_fallbacks", "op": "==", "value": 0,
                              "where": {"step": "nope"}}])
