"""A chaos run against the reference gateway with `target.workers: 2`: both workers' audit
chains exist and verify (report.audit.chains), every answered request is in exactly one of
them and both workers served, and `govchaos report verify` checks the whole set."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from governance.audit import iter_events

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]


@pytest.mark.slow
def test_two_worker_run_verifies_both_chains(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", "govchaos", "chaos", "run", str(HERE / "scenarios" / "quick-workers.yaml"),
         "--out", str(out)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    audit = report["audit"]
    assert audit["file"] == "audit" and audit["verified"], audit
    assert [(c["name"], c["verified"]) for c in audit["chains"]] == [
        ("worker-0", True), ("worker-1", True)]
    assert json.loads((out / "audit" / "workers.json").read_text())["workers"] == 2
    decided = {}
    for chain in ("worker-0", "worker-1"):
        ids = [e["request_id"] for e in iter_events(out / "audit" / chain)
               if e.get("kind") == "decision"]
        assert ids, f"{chain} wrote no decision: both workers should have served"
        decided[chain] = set(ids)
    assert not decided["worker-0"] & decided["worker-1"]
    answered = [json.loads(line) for line in (out / "requests.jsonl").read_text().splitlines()]
    ok = {r["request_id"] for r in answered if r.get("status") == 200}
    assert len(ok) >= 100 and ok <= decided["worker-0"] | decided["worker-1"]
    verify = subprocess.run([sys.executable, "-m", "govchaos", "report", "verify", str(out)],
                            cwd=REPO, capture_output=True, text=True, timeout=60)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "2 worker chains" in verify.stdout
