"""The PII outage scenario against LiteLLM (examples/external/litellm/) and the reference gateway.

The LiteLLM runs need LiteLLM 1.109.x installed (``make litellm-check`` puts it in
``.venv-litellm``; ``GOVCHAOS_LITELLM_BIN`` names another ``litellm`` executable) and skip
cleanly without it. The twin files and the reference run need nothing extra.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples" / "external" / "litellm"
VARIANTS = ("pii-outage.reference.yaml", "pii-outage.litellm.yaml",
            "pii-outage.litellm-fallbacks.yaml")


def _litellm_bin() -> Path | None:
    named = os.environ.get("GOVCHAOS_LITELLM_BIN")
    candidate = Path(named) if named else REPO / ".venv-litellm" / "bin" / "litellm"
    return candidate if candidate.is_file() and os.access(candidate, os.X_OK) else None


needs_litellm = pytest.mark.skipif(
    _litellm_bin() is None,
    reason="LiteLLM is not installed (make litellm-check, or GOVCHAOS_LITELLM_BIN=.../litellm)",
)


def _load(name: str) -> dict:
    return yaml.safe_load((EXAMPLES / name).read_text())


def test_the_variants_differ_only_in_target_and_name() -> None:
    reference, *litellm = (_load(name) for name in VARIANTS)
    for variant in litellm:
        assert variant["target"]["kind"] == "external"
        same = {k: v for k, v in variant.items() if k not in ("target", "name")}
        assert same == {k: v for k, v in reference.items() if k not in ("target", "name")}
    plain, fallbacks = (v["target"]["config_template"] for v in litellm)
    assert "fallbacks" not in _load(plain)["router_settings"]
    assert _load(fallbacks)["router_settings"]["fallbacks"] == [
        {"claims-triage": ["customer-chat"]}]


def _run(name: str, tmp_path: Path) -> tuple[subprocess.CompletedProcess, dict]:
    scenario = EXAMPLES / name
    binary = _litellm_bin()
    data = _load(name)
    if data["target"]["kind"] == "external" and binary is not None:
        # The same scenario, looking for LiteLLM where it is installed (absolute paths, since
        # the copy lives elsewhere).
        data["target"]["command_path"] = [str(binary.parent)]
        data["target"]["config_template"] = str(EXAMPLES / data["target"]["config_template"])
        data["policy"]["bundle"] = str((EXAMPLES / data["policy"]["bundle"]).resolve())
        scenario = tmp_path / name
        scenario.write_text(yaml.safe_dump(data, sort_keys=False))
    out = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", "govchaos", "chaos", "run", str(scenario), "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=240,
    )
    return result, json.loads((out / "report.json").read_text())


@pytest.mark.slow
def test_reference_gateway_keeps_pii_off_cloud_models(tmp_path: Path) -> None:
    result, report = _run("pii-outage.reference.yaml", tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert report["verdict"] == "passed"
    assert report["policy_violations"]["count"] == 0
    assert report["policy_violations"]["checked"] > 0


@pytest.mark.slow
@needs_litellm
def test_litellm_with_cloud_fallbacks_sends_pii_to_cloud_and_the_harness_says_so(
    tmp_path: Path,
) -> None:
    result, report = _run("pii-outage.litellm-fallbacks.yaml", tmp_path)
    assert result.returncode == 1, result.stderr[-3000:]
    assert report["verdict"] == "failed" and report["gateway"]["kind"] == "external"
    assert "warmup" in [p["name"] for p in report["phases"]]
    violations = report["policy_violations"]
    assert violations["count"] > 0
    for example in violations["examples"]:
        assert example["route"] == "claims-triage" and example["data_classes"] == ["pii"]
        assert example["upstream"] in ("cloud-eu", "cloud-us")
    failed = [a["name"] for a in report["assertions"] if not a["passed"]]
    assert failed == ["no PII on cloud models (policy_violations == 0)"]
    assert f"policy violations: {violations['count']}" in result.stderr


@pytest.mark.slow
@needs_litellm
def test_litellm_without_fallbacks_sends_no_pii_to_cloud(tmp_path: Path) -> None:
    result, report = _run("pii-outage.litellm.yaml", tmp_path)
    assert report["verdict"] != "broken", report["verdict_reasons"]
    assert report["policy_violations"]["count"] == 0
    assert report["policy_violations"]["checked"] > 0
