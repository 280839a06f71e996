"""Never a pass on a fault that did not bite — also when the proxy is a real Toxiproxy.

A Toxiproxy look-alike that accepts toxics over its API but applies none
(``tests/fixtures/toxicless_toxiproxy.py``) stands in for a real Toxiproxy whose toxics do not
take effect: the run must end ``broken`` (exit 2) and name the fault. The same scenario on the
embedded proxy passes with the effect verified.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
SCENARIO = HERE / "scenarios" / "quick-latency.yaml"
FAKE = REPO / "tests" / "fixtures" / "toxicless_toxiproxy.py"


def _run(out: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "govchaos", "chaos", "run", str(SCENARIO), "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=120, env=env,
    )


@pytest.fixture
def toxicless_toxiproxy(tmp_path: Path):
    ready = tmp_path / "fake-ready.json"
    process = subprocess.Popen(
        [sys.executable, str(FAKE), "--port", "0", "--ready-file", str(ready)],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        deadline = time.monotonic() + 20
        while not ready.exists():
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "fake Toxiproxy did not start"
            time.sleep(0.05)
        yield json.loads(ready.read_text())["url"]
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.slow
def test_a_toxiproxy_that_applies_no_toxic_makes_the_run_broken(
    tmp_path: Path, toxicless_toxiproxy: str
) -> None:
    out = tmp_path / "run"
    env = {**os.environ, "TOXIPROXY_URL": toxicless_toxiproxy}
    result = _run(out, env)
    assert result.returncode == 2, result.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    assert report["verdict"] == "broken"
    assert report["environment"]["toxiproxy"] == toxicless_toxiproxy
    (fault,) = report["faults"]
    assert fault["status"] == "reverted"  # the API accepted and removed the toxic...
    effect = fault["effect"]
    assert effect["verified"] is False  # ...but nothing was slowed down
    assert "delayed" in effect["expected"] and "witness" in effect["observed"]
    assert any("cloud-eu-slow" in reason and "did not take effect" in reason
               for reason in report["verdict_reasons"]), report["verdict_reasons"]
    assert "cloud-eu-slow" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_the_same_fault_on_the_embedded_proxy_is_verified(tmp_path: Path) -> None:
    out = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if k != "TOXIPROXY_URL"}
    result = _run(out, env)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    (fault,) = report["faults"]
    assert fault["effect"]["verified"] is True, fault["effect"]
    assert "affected" in fault["effect"]["observed"]
    assert report["verdict"] == "passed"
