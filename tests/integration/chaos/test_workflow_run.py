"""Agent workflows end to end through the CLI: short variants of the two standard workflow
scenarios against the reference gateway (real sockets and subprocesses)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]


def _run(scenario: str, out: Path, seed: int) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "govchaos", "chaos", "run", str(HERE / "scenarios" / scenario),
         "--out", str(out), "--seed", str(seed)],
        cwd=REPO, capture_output=True, text=True, timeout=90,
    )


@pytest.mark.slow
def test_workflows_survive_gpu_loss_without_leaks(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = _run("workflow-gpu-loss-quick.yaml", out, 5)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    (fault,) = report["faults"]
    assert fault["effect"]["verified"] is True
    section = report["workflows"]
    assert section["overall"]["workflows"] >= 30 and section["data_flow"]["count"] == 0
    assert section["data_flow"]["checked"] > 0  # later steps did carry (redacted) drafts
    assert "gpu0-lost" in section["during_faults"] and section["sample"]
    rows = [json.loads(line) for line in (out / "requests.jsonl").read_text().splitlines()]
    assert rows and all(r["workflow_id"] and r["step"] and r["workflow"] == "claims"
                        for r in rows)
    assert {r["step"] for r in rows} == {"intake", "assess", "draft", "validate", "file"}
    from governance.audit import iter_events

    labelled = [e["workflow"] for e in iter_events(out / "audit")
                if e.get("kind") in ("decision", "attempt") and "workflow" in e]
    assert labelled and all(w["workflow_id"].endswith(tuple("0123456789")) for w in labelled)
    assert {w["step"] for w in labelled} >= {"claims/intake", "claims/file"}
    html = (out / "report.html").read_text()
    assert "Agent workflows" in html and "Completion rate over time" in html
    assert "**Agent workflows**" in (out / "report.md").read_text()


@pytest.mark.slow
def test_laundered_pii_is_caught_and_named(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = _run("workflow-laundering-quick.yaml", out, 6)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    flow = report["workflows"]["data_flow"]
    assert flow["by_step"]["claims/draft"] >= 1 and "claims/assess" not in flow["by_step"]
    first = flow["violations"][0]
    assert first["step"] == "draft" and first["carried"] == ["pii"]
    assert first["path"] == ["claims/intake", "claims/assess", "claims/draft", "gpt-4o-cloud-eu"]
    assert report["policy_violations"]["count"] == 0  # per-request policy cannot see it
    assert "first: claims/intake -> claims/assess -> claims/draft -> gpt-4o-cloud-eu" in result.stdout
    html = (out / "report.html").read_text()
    assert "claims/intake -&gt; claims/assess -&gt; claims/draft -&gt; gpt-4o-cloud-eu" in html
