"""`govchaos chaos validate | schema | faults`, in-process (no gateway started)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from govchaos.cli import main

REPO = Path(__file__).resolve().parents[3]


def test_validate_the_standard_suite(capsys) -> None:
    files = sorted(str(p) for p in (REPO / "scenarios").glob("*.yaml"))
    assert main(["chaos", "validate", *files]) == 0
    out = capsys.readouterr().out
    for name in ("provider-outage", "latency-spike", "rate-limit-storm", "malformed-output",
                 "private-gpu-loss-pii", "private-outage-total", "connection-reset",
                 "stream-interruption"):
        assert f"{name}.yaml: ok" in out
    assert "gateway.template.yaml: skipped" in out


def test_standard_suite_fits_the_time_budget() -> None:
    from chaos.faults import default_registry
    from chaos.scenario import load_scenario

    for path in (REPO / "scenarios").glob("*.yaml"):
        if path.name.endswith(".template.yaml"):
            continue
        scenario = load_scenario(path, faults=default_registry()).scenario
        assert scenario.planned_duration_s() <= 40, path.name
        assert scenario.proves.strip(), f"{path.name} must say what it proves"


def test_validate_reports_file_line_field(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nseed: one\n")
    assert main(["chaos", "validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:2: seed:" in err


def test_schema_prints_valid_json_schemas(capsys) -> None:
    assert main(["chaos", "schema"]) == 0
    scenario_schema = json.loads(capsys.readouterr().out)
    jsonschema.Draft202012Validator.check_schema(scenario_schema)
    assert main(["chaos", "schema", "--report"]) == 0
    report_schema = json.loads(capsys.readouterr().out)
    jsonschema.Draft202012Validator.check_schema(report_schema)
    assert "verdict" in report_schema["required"]


def test_faults_lists_every_kind(capsys) -> None:
    assert main(["chaos", "faults"]) == 0
    out = capsys.readouterr().out
    assert "gpu_lost" in out and "upstream_down" in out
