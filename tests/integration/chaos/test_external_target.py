"""``target: {kind: external}`` end to end, without LiteLLM: the external command is the
reference gateway itself (or a shell that dies), started from ``command_path`` on a
``${free_port}``, with ``env``, ``warmup_s`` and the gateway's log tail when it exits."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
BIN = Path(sys.executable).parent  # the venv's bin: a command_path entry, not PATH


def _scenario(tmp_path: Path, target: dict, **extra: object) -> Path:
    data = yaml.safe_load((HERE / "scenarios" / "quick.yaml").read_text())
    data.update(name="external-target", policy={"bundle": str(REPO / "policies")},
                target={"kind": "external", "config_template": str(
                    REPO / "scenarios" / "gateway.template.yaml"), **target}, **extra)
    path = tmp_path / "external.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _serve(port: str = "${free_port}") -> list[str]:
    return ["python", "-m", "govchaos", "gateway", "serve", "--config", "${config_file}",
            "--host", "127.0.0.1", "--port", port]


def _run(scenario: Path, out: Path, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "govchaos", "chaos", "run", str(scenario), "--out", str(out),
         "--seed", "5"],
        cwd=REPO, capture_output=True, text=True, timeout=timeout,
    )


def _report(out: Path) -> dict:
    return json.loads((out / "report.json").read_text())


@pytest.mark.slow
def test_command_from_command_path_with_warmup_excluded_from_metrics(tmp_path: Path) -> None:
    scenario = _scenario(tmp_path, {
        "base_url": "http://127.0.0.1:${free_port}",
        "command": _serve(),
        "command_path": [str(BIN)],
        "ready_path": "/readyz",
        "warmup_s": 1.5,
    })
    out = tmp_path / "run"
    result = _run(scenario, out)
    assert result.returncode == 0, result.stderr[-3000:]
    report = _report(out)
    from chaos.report.model import report_json_schema

    jsonschema.validate(report, report_json_schema())
    assert [p["name"] for p in report["phases"]] == [
        "start", "warmup", "steady_before", "faults", "recovery", "steady_after", "teardown"]
    steady_start = next(p["start_s"] for p in report["phases"] if p["name"] == "steady_before")
    records = [json.loads(line) for line in (out / "requests.jsonl").read_text().splitlines()]
    warmup = [r for r in records if r["sent_at_s"] < steady_start]
    assert len(warmup) >= 15  # ~1.5 s at 20 rps: sent, answered, kept in requests.jsonl
    assert report["metrics"]["requests"] == len(records) - len(warmup)  # and counted nowhere
    assert report["gateway"]["kind"] == "external"
    assert report["gateway"]["base_url"].startswith("http://127.0.0.1:")
    assert report["gateway"]["exit_code"] is None and report["gateway"]["log_tail"] is None
    assert "listening on " + report["gateway"]["base_url"] in Path(
        report["gateway"]["log_file"]).read_text()
    assert report["policy_violations"]["count"] == 0
    # warm-up requests are still attributed (their upstream entries are no violations)
    assert report["policy_violations"]["checked"] >= len(records)


def test_exit_before_ready_shows_the_log_tail_and_path(tmp_path: Path) -> None:
    scenario = _scenario(tmp_path, {
        "base_url": "http://127.0.0.1:${free_port}",
        "command": ["bash", "-c", 'echo "starting with $GOVCHAOS_MARK"; '
                    'echo "error: no master key set" >&2; exit 3'],
        "env": {"GOVCHAOS_MARK": "port-${free_port} key-${target.api_key}"},
        "api_key": "sk-test-master-0001",
        "ready_timeout_s": 20,
    })
    out = tmp_path / "run"
    result = _run(scenario, out, timeout=60)
    assert result.returncode == 2, result.stderr[-3000:]
    report = _report(out)
    assert report["verdict"] == "broken"
    reason = report["verdict_reasons"][0]
    assert "gateway exited with code 3 before it was ready" in reason
    assert "error: no master key set" in reason
    assert "starting with port-" in reason and " key-sk-test-master-0001" in reason
    assert f"(log: {report['gateway']['log_file']})" in reason
    assert report["gateway"]["exit_code"] == 3
    assert "no master key" in report["gateway"]["log_tail"]
    assert "error: no master key set" in result.stdout + result.stderr  # the console shows it too
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_exit_during_the_run_fails_it_with_the_log_tail(tmp_path: Path) -> None:
    serve = " ".join(f"'{part}'" for part in [sys.executable, *_serve()[1:]])
    scenario = _scenario(tmp_path, {
        "base_url": "http://127.0.0.1:${free_port}",
        "command": ["bash", "-c", f'{serve} & sleep 4; kill -KILL $!; '
                    'echo "gateway crashed under chaos"; exit 7'],
        "ready_path": "/readyz",
    })
    out = tmp_path / "run"
    result = _run(scenario, out)
    assert result.returncode == 1, result.stderr[-3000:]
    report = _report(out)
    assert report["verdict"] == "failed"
    (reason,) = [r for r in report["verdict_reasons"] if "gateway exited" in r]
    assert "gateway exited with code 7 during the run" in reason
    assert "gateway crashed under chaos" in reason and report["gateway"]["log_file"] in reason
    assert report["gateway"]["exit_code"] == 7
    assert "gateway crashed under chaos" in result.stdout + result.stderr


def test_command_not_in_command_path_is_broken_and_names_where_it_looked(
    tmp_path: Path,
) -> None:
    (tmp_path / "bin").mkdir()
    scenario = _scenario(tmp_path, {
        "base_url": "http://127.0.0.1:${free_port}",
        "command": ["python"],  # on PATH, but command_path is the only place looked in
        "command_path": ["bin"],
    })
    out = tmp_path / "run"
    result = _run(scenario, out, timeout=60)
    assert result.returncode == 2, result.stderr[-3000:]
    reason = _report(out)["verdict_reasons"][0]
    assert f"'python' not found in target.command_path ({tmp_path / 'bin'})" in reason
