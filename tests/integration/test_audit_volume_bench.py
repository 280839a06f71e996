"""bench/audit_volume.py, briefly: load through the real gateway leaves rotating compressed
segments whose chain verifies, and the figures the issue asks for are reported."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_audit_volume_short_run_verifies_and_reports_the_figures(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("bench_audit_volume",
                                                  REPO / "bench" / "audit_volume.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "volume.json"
    kept = tmp_path / "segments"
    code = module.main(["--seconds", "3", "--rate", "40", "--segment-bytes", "16384",
                        "--keep", str(kept), "--json", str(out)])
    data = json.loads(out.read_text())
    assert code == 0 and data["chain_verified"] is True, data
    assert data["gateway_exit_code"] == 0
    assert data["requests_ok"] > 0 and data["decisions_audited"] >= data["requests_ok"]
    assert data["segments"] >= 2 and list(kept.glob("audit-*.jsonl.gz"))
    assert not list(kept.glob("audit-*.jsonl"))  # SIGTERM sealed the last segment too
    assert data["bytes_on_disk"] == sum(p.stat().st_size for p in kept.iterdir() if p.is_file())
    assert data["bytes_ratio"] == pytest.approx(
        data["legacy_bytes_per_request"] / data["bytes_per_request"], rel=0.01)
    assert data["bytes_ratio"] >= 4


def test_audit_volume_rejects_bad_usage() -> None:
    spec = importlib.util.spec_from_file_location("bench_audit_volume_usage",
                                                  REPO / "bench" / "audit_volume.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--seconds", "0"]) == 2
    assert module.main(["--segment-bytes", "10"]) == 2
