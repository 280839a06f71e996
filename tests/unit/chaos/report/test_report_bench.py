"""bench/report.py runs and writes the keys the Makefile's bench target promises."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[4]


def test_bench_report_small(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("bench_report", REPO / "bench" / "report.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "report.json"
    assert module.main(["--seconds", "2", "--rps", "20", "--repeat", "1", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["render_sign_s"] > 0 and data["verify_s"] > 0 and data["requests"] == 40
    assert "report.sigstore.json" in data["report_files"]
