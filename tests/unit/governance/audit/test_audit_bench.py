"""bench/audit.py runs small and reports the production-volume figures it promises."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[4]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", REPO / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_audit_small_reports_bytes_rotation_and_directory_verification(tmp_path: Path) -> None:
    out = tmp_path / "audit.json"
    assert _load("audit").main(["--seconds", "0.3", "--appenders", "8", "--verify-records", "2000",
                                "--requests", "1500", "--rotate-bytes", "16384",
                                "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    # the keys that were there before stay
    for key in ("audit_append_per_s", "audit_append_p99_us", "audit_verify_per_s"):
        assert data[key] > 0
    assert data["audit_bytes_requests"] == 1500
    legacy, compact = data["audit_bytes_per_request_legacy"], data["audit_bytes_per_request_compact"]
    assert data["audit_bytes_ratio"] == pytest.approx(legacy / compact, rel=0.01)
    assert data["audit_bytes_ratio"] >= 4  # the target, on the gateway-shaped workload
    assert compact < data["audit_bytes_per_request_compact_plain"] < legacy
    assert data["audit_rotating_segments"] >= 2 and data["audit_append_rotating_per_s"] > 0
    assert data["audit_verify_dir_segments"] >= 2
    assert data["audit_verify_dir_records"] > 3000  # 1,500 decisions + their attempts + blobs


def test_workload_records_look_like_the_gateways() -> None:
    bench = _load("audit")
    import asyncio

    shapes, policy = asyncio.run(bench._decide_mix())
    events = bench.GatewayWorkload(shapes, policy).request()
    decision, attempt = events[0], events[-1]
    assert decision["kind"] == "decision" and attempt["kind"] == "attempt"
    assert len(decision["input"]["candidates"]) >= 3
    assert set(decision["result"]) == {"allow", "allowed", "denied", "reasons", "obligations"}
    assert policy["bundle_digest"].startswith("sha256:")
    assert attempt["decision_id"] == decision["decision_id"]
