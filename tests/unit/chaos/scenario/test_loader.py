from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml

from chaos.errors import ScenarioError
from chaos.faults import default_registry
from chaos.scenario import load_scenario, parse_scenario, scenario_json_schema

GOOD = """\
name: tiny
seed: 7
upstreams:
  - name: a
    model: gpt-4o-cloud-eu
    hosting: cloud
    region: eu
  - name: b
    model: llama-3.1-70b-private-eu
    hosting: private
    region: eu
    gpu_device: 0
load:
  rate_rps: 10
  routes:
    - route: customer-chat
      tenant: globex-retail
faults:
  - name: a-down
    kind: upstream_down
    target: a
    at_s: 1
    duration_s: 2
assertions:
  - metric: success_rate
    op: ">="
    value: 0.9
    during: a-down
"""


def _parse(text: str, name: str = "s.yaml"):
    return parse_scenario(text.encode(), Path(name), faults=default_registry())


def test_good_scenario_loads_with_digest() -> None:
    loaded = _parse(GOOD)
    assert loaded.scenario.name == "tiny"
    assert len(loaded.sha256) == 64
    assert loaded.scenario.fault_phase_s() == 3
    assert loaded.with_seed(99).scenario.seed == 99


def test_unknown_field_names_file_line_and_path() -> None:
    text = GOOD.replace("    hosting: cloud\n", "    hosting: cloud\n    colour: red\n", 1)
    with pytest.raises(ScenarioError) as info:
        _parse(text)
    err = info.value
    assert err.location.file == "s.yaml"
    assert err.location.line == 7
    assert err.location.field == "upstreams.0.colour"
    assert "unknown field" in err.message


def test_wrong_type_points_at_the_value() -> None:
    text = GOOD.replace("rate_rps: 10", "rate_rps: lots")
    with pytest.raises(ScenarioError) as info:
        _parse(text)
    assert info.value.location.field == "load.rate_rps"
    assert info.value.location.line == 14


def test_missing_required_field_names_parent() -> None:
    text = GOOD.replace("    region: eu\n", "", 1)
    with pytest.raises(ScenarioError) as info:
        _parse(text)
    assert info.value.location.field == "upstreams.0.region"
    assert info.value.location.line == 4
    assert "required" in info.value.message


def test_unknown_fault_kind_suggests_closest() -> None:
    text = GOOD.replace("kind: upstream_down", "kind: upstream_dwn")
    with pytest.raises(ScenarioError) as info:
        _parse(text)
    assert "did you mean 'upstream_down'" in info.value.message
    assert info.value.location.field == "faults.0.kind"
    assert info.value.location.line == 20


def test_bad_fault_param_is_located() -> None:
    text = GOOD.replace("kind: upstream_down", "kind: latency\n    params: {latency_ms: -5}")
    with pytest.raises(ScenarioError) as info:
        _parse(text)
    assert info.value.location.field == "faults.0.params.latency_ms"
    assert info.value.location.line == 21


def test_unknown_fault_target_is_cross_checked() -> None:
    text = GOOD.replace("target: a", "target: zz")
    with pytest.raises(ScenarioError) as info:
        _parse(text)
    assert info.value.location.field == "faults.0.target"
    assert "unknown upstream 'zz'" in info.value.message


def test_during_must_name_a_fault() -> None:
    text = GOOD.replace("during: a-down", "during: b-down")
    with pytest.raises(ScenarioError) as info:
        _parse(text)
    assert info.value.location.field == "assertions.0.during"


def test_gpu_fault_needs_gpu_backed_target() -> None:
    text = GOOD.replace("kind: upstream_down", "kind: gpu_lost")
    with pytest.raises(ScenarioError) as info:
        _parse(text)
    assert info.value.location.field == "faults.0.target"
    assert "gpu_device" in info.value.message


def test_invalid_yaml_has_line_and_column() -> None:
    with pytest.raises(ScenarioError) as info:
        _parse("name: x\nload: [1, 2\n")
    assert info.value.location.line is not None
    assert "invalid YAML" in info.value.message


def test_not_a_mapping() -> None:
    with pytest.raises(ScenarioError):
        _parse("- 1\n- 2\n")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "nope.yaml", faults=default_registry())
    assert "cannot read" in info.value.message


def test_json_schema_agrees_with_loader() -> None:
    schema = scenario_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    assert not list(validator.iter_errors(yaml.safe_load(GOOD)))
    bad = yaml.safe_load(GOOD.replace("rate_rps: 10", "rate_rps: -1"))
    assert list(validator.iter_errors(bad))


def test_shipped_scenarios_validate(repo_root: Path) -> None:
    files = sorted((repo_root / "scenarios").glob("*.yaml"))
    files = [f for f in files if not f.name.endswith(".template.yaml")]
    validator = jsonschema.Draft202012Validator(scenario_json_schema())
    for path in files:
        load_scenario(path, faults=default_registry())
        assert not list(validator.iter_errors(yaml.safe_load(path.read_text()))), path


@pytest.mark.parametrize(
    ("text", "needle", "line"),
    [
        (b"name: a\nname: b\n", "duplicate key 'name' (first on line 1)", 2),
        (b"a: &a [1,1,1,1,1,1,1,1,1,1]\n" + b"".join(
            f"{c}: &{c} [{','.join(['*' + p] * 10)}]\n".encode() for p, c in zip("abcde", "bcdef")),
         "alias bomb", 6),
        (b"\xff\xfe", "not UTF-8", None),
    ],
)
def test_strict_yaml_errors_are_located(tmp_path, text, needle, line) -> None:
    path = tmp_path / "s.yaml"
    path.write_bytes(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, faults=default_registry())
    assert needle in info.value.message and info.value.location.line == line


@pytest.mark.parametrize("assertion, message", [
    ("{metric: success_rate, op: '>=', value: 1, where: {upstream: a}}",
     "assertions.0.where.upstream: only for"),
    ("{metric: requests, op: '>=', value: 1, where: {upstream: nope}}",
     "assertions.0.where.upstream: unknown upstream 'nope'"),
    ("{metric: upstream_share, op: '>=', value: 0.1}",
     "assertions.0.where.upstream: upstream_share needs the upstream"),
])
def test_where_upstream_is_checked(tmp_path, assertion: str, message: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: s\nupstreams: [{name: a, model: m, hosting: private, region: eu}]\n"
        "load: {rate_rps: 1, routes: [{route: r, tenant: t}]}\n"
        f"assertions:\n  - {assertion}\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, faults=default_registry())
    assert message in str(info.value)
