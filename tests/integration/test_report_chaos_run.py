"""A real `chaos run` signs its report; `report verify` passes on it and fails after tampering."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import pytest

from governance.attest import generate_keypair

REPO = Path(__file__).resolve().parents[2]
QUICK = REPO / "tests" / "integration" / "chaos" / "scenarios" / "quick.yaml"


def _cli(*argv: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "govchaos", *argv], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
@pytest.mark.skipif(not QUICK.is_file(), reason="the runner's quick scenario is not present")
def test_chaos_run_signs_with_org_key_and_verify_detects_tampering(tmp_path: Path) -> None:
    keys = generate_keypair(tmp_path / "keys")
    out = tmp_path / "run"
    run = _cli("chaos", "run", str(QUICK), "--out", str(out), "--seed", "3", "--key", str(keys.private_key))
    assert run.returncode == 0, run.stderr[-3000:]
    assert "verify with: govchaos report verify" in run.stdout
    for name in ("report.html", "report.md", "junit.xml", "report.sigstore.json",
                 "audit/audit-000000.jsonl.gz", "audit/audit-000000.manifest.json"):
        assert (out / name).is_file(), name
    assert not (out / "signing-key.pub").exists()

    ok = _cli("report", "verify", str(out), "--key", str(keys.public_key))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "VALID" in ok.stdout and "NOT origin" not in ok.stdout

    assert "records chain from seq 0 to the signed head across" in ok.stdout

    audit = out / "audit" / "audit-000000.jsonl.gz"
    lines = gzip.decompress(audit.read_bytes()).splitlines(keepends=True)
    del lines[5]  # an auditor's nightmare: one record quietly removed
    audit.write_bytes(gzip.compress(b"".join(lines)))
    bad = _cli("report", "verify", str(out), "--key", str(keys.public_key))
    assert bad.returncode == 1
    assert "FAIL  audit chain" in bad.stdout and "seq 5" in bad.stdout
    assert "audit/audit-000000.jsonl.gz: contents differ" in bad.stdout
