"""`--json` for `chaos validate` and `policy check`; group help on stderr with exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from govchaos.cli import main

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures" / "policies"
SCENARIO = ROOT / "scenarios" / "provider-outage.yaml"


@pytest.mark.parametrize("group", ["policy", "chaos", "report", "keys"])
def test_group_without_subcommand_prints_help_to_stderr_and_exits_2(group: str, capsys) -> None:
    assert main([group]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("usage: govchaos " + group)


def test_chaos_validate_json_per_file(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nseed: 1\nfaults:\n  - {kind: upstream_down, target: nope, at_s: -1}\n")
    template = tmp_path / "gateway.template.yaml"
    template.write_text("x: 1\n")
    code = main(["chaos", "validate", "--json", str(SCENARIO), str(bad), str(template),
                 str(tmp_path / "missing.yaml")])
    out, err = capsys.readouterr()
    assert code == 2 and err == ""
    data = json.loads(out)
    assert data["ok"] is False and data["errors"] == 2
    ok, invalid, skipped, missing = data["results"]
    assert ok == {"file": str(SCENARIO), "ok": True, "scenario": "provider-outage", "upstreams": 4,
                  "faults": 1, "assertions": ok["assertions"], "planned_duration_s": ok["planned_duration_s"]}
    assert invalid["ok"] is False and invalid["file"] == str(bad)
    assert set(invalid["error"]) == {"code", "file", "line", "column", "field", "message"}
    assert invalid["error"]["code"] == "invalid_scenario" and invalid["error"]["file"] == str(bad)
    assert skipped["ok"] is True and "template" in skipped["skipped"]
    assert missing["ok"] is False and missing["error"]["line"] is None


def test_chaos_validate_json_all_ok(capsys) -> None:
    assert main(["chaos", "validate", "--json", str(SCENARIO)]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True


def test_policy_check_json_ok_lists_files(capsys) -> None:
    assert main(["policy", "check", "--json", str(FIXTURES / "basic")]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is True and data["modules"] == 2 and data["cases"] == 3
    files = [r["file"] for r in data["results"]]
    assert str(FIXTURES / "basic" / "gateway.rego") in files
    assert all(r["ok"] for r in data["results"])


def test_policy_check_json_error_has_line_and_column(capsys) -> None:
    assert main(["policy", "check", "--json", str(FIXTURES / "broken")]) == 2
    out, err = capsys.readouterr()
    assert err == ""
    (result,) = json.loads(out)["results"]
    assert result["ok"] is False
    assert result["error"] == {"code": "policy_compile_error",
                               "file": (FIXTURES / "broken" / "bad.rego").as_posix(), "line": 7,
                               "column": 1, "field": None, "message": "expecting expression"}


def test_run_summary_prints_probes_like_the_reports(tmp_path: Path, capsys) -> None:
    from chaos.runner.synthetic import synthesize_run_dir
    from chaos.report.view import read_report_file
    from govchaos.cli.chaos import _print_summary

    run = synthesize_run_dir(tmp_path / "run", duration_s=2, rps=5, probes_by_upstream={"cloud-eu": 1})
    import sys

    _print_summary(read_report_file(run), run, sys.stdout)
    out = capsys.readouterr().out
    assert "1 health probe carried no client data (counted apart, not violations): cloud-eu 1" in out
    assert "probes not counted" not in out
