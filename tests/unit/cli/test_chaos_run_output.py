"""`chaos run`'s output parts without a run: the --json result object and the job summary."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from chaos.report.view import read_report_file
from chaos.runner.synthetic import synthesize_run_dir
from govchaos.cli.chaos import finalize_report, result_json


def _args() -> argparse.Namespace:
    return argparse.Namespace(key=None, keyless=False)


def test_result_json_is_one_object_with_the_gate_facts(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    run = synthesize_run_dir(tmp_path / "run", duration_s=2, rps=5, verdict="failed")
    signed = finalize_report(run, _args())
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == f"verify with: govchaos report verify {run}"
    data = result_json(read_report_file(run), run, signed, 1)
    text = json.dumps(data)
    assert json.loads(text) == data
    assert data["verdict"] == "failed" and data["exit_code"] == 1
    assert data["signing"]["key_id"] == signed.signing.key_id and data["signing"]["mode"] == "ephemeral"
    assert data["checks"]["failed"] == len(data["failed_checks"]) > 0
    assert data["checks"]["total"] == data["checks"]["passed"] + data["checks"]["failed"] + data["checks"]["skipped"]
    assert Path(data["files"]["report.md"]).is_file()


def test_report_md_is_appended_to_the_github_step_summary(tmp_path: Path, monkeypatch, capsys) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    run = synthesize_run_dir(tmp_path / "run", duration_s=2, rps=5)
    finalize_report(run, _args())
    text = summary.read_text()
    assert text.startswith("earlier step\n")  # appended, as GitHub expects, never replaced
    assert text[len("earlier step\n"):] == (run / "report.md").read_text()


def test_an_unwritable_step_summary_is_a_warning_not_a_failure(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "no" / "such" / "dir" / "s.md"))
    run = synthesize_run_dir(tmp_path / "run", duration_s=2, rps=5)
    finalize_report(run, _args())
    assert "warning: could not append report.md to GITHUB_STEP_SUMMARY" in capsys.readouterr().err


@pytest.mark.parametrize("unset", ["", None])
def test_no_step_summary_when_unset(tmp_path: Path, monkeypatch, unset: str | None) -> None:
    if unset is None:
        monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    else:
        monkeypatch.setenv("GITHUB_STEP_SUMMARY", unset)
    run = synthesize_run_dir(tmp_path / "run", duration_s=2, rps=5)
    finalize_report(run, _args())
    assert not any(p.name == "summary.md" for p in tmp_path.iterdir())
