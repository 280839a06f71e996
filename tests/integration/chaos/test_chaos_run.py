"""End-to-end chaos runs through the CLI, as CI runs them (real sockets and subprocesses)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest

HERE = Path(__file__).resolve().parent
SCENARIOS = HERE / "scenarios"
REPO = HERE.parents[2]


def _run(scenario: str, out: Path, *extra: str, timeout: float = 90,
         cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "govchaos", "chaos", "run", str(SCENARIOS / scenario),
         "--out", str(out), *extra],
        cwd=cwd, capture_output=True, text=True, timeout=timeout,
    )


def _sigint_default() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _report(out: Path) -> dict:
    return json.loads((out / "report.json").read_text())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes (its parent reaps it).
    try:
        return "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False


def _pids(report: dict) -> list[int]:
    pids = []
    for event in report["events"]:
        if event["name"] == "ready":
            text = event["detail"].split("pids ", 1)[1]
            pids += [int(p) for p in text.strip("{}").replace("'", "").split(", ")
                     for p in [p.split(": ")[1]]]
    return pids


@pytest.mark.slow
def test_quick_scenario_passes_and_writes_the_report(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = _run("quick.yaml", out, "--seed", "11")
    assert result.returncode == 0, result.stderr[-3000:]
    report = _report(out)
    assert report["verdict"] == "passed" and report["partial"] is False
    from chaos.report.model import Report, report_json_schema

    jsonschema.validate(report, report_json_schema())
    Report.model_validate(report)
    assert report["seed"] == 11
    assert report["schema_version"] == "1"
    assert len(report["scenario"]["sha256"]) == 64
    assert len(report["policy"]["sha256"]) == 64 and report["policy"]["files"]
    assert report["gateway"]["kind"] == "reference" and report["gateway"]["config_sha256"]
    assert report["audit"]["verified"] and report["audit"]["records"] > 0
    assert report["policy_violations"]["count"] == 0
    assert report["policy_violations"]["checked"] > 0
    (fault,) = report["faults"]
    assert fault["status"] == "reverted" and fault["effect"]["requests_during"] > 0
    assert fault["effect"]["upstream_requests_during"] == 0  # the proxy really was down
    assert fault["effect"]["verified"] is True, fault["effect"]  # proven from ground truth
    assert "refused" in fault["effect"]["observed"]
    cost = report["metrics"]["cost"]  # the upstreams' usage logs x the catalog's prices
    assert cost["reason"] is None and cost["usd_total"] > 0 and cost["usd_per_1k_requests"] > 0
    assert cost["catalog"]["policy_sha256"] == report["policy"]["sha256"]
    assert "upstream-usage.jsonl" in report["files"] and (out / "upstream-usage.jsonl").is_file()
    assert fault["cost"]["requests_during"] == fault["effect"]["requests_during"]
    assert fault["cost"]["usd_per_1k_requests_before"] is not None
    assert "cost: $" in result.stdout
    assert report["metrics"]["attribution"]["mismatches"] == 0
    assert report["metrics"]["attribution"]["unattributed"] == 0
    assert [p["name"] for p in report["phases"]] == [
        "start", "steady_before", "faults", "recovery", "steady_after", "teardown"]
    for name in ("requests.jsonl", "upstream-requests.jsonl", "gateway-config.yaml"):
        assert (out / name).is_file(), name
    # the gateway's audit log: sealed, chained segments, each with its manifest, all signed
    assert report["audit"]["file"] == "audit"
    assert sorted(out.glob("audit/audit-*.jsonl.gz")) and not list(out.glob("audit/*.jsonl"))
    assert all(f"audit/{p.name}" in report["files"] for p in (out / "audit").iterdir())
    # The summary is the command's result (stdout); progress stays on stderr.
    assert "PASS" in result.stdout and "verdict: PASSED" in result.stdout
    assert not any(_alive(pid) for pid in _pids(report))
    assert "fault-proxy" in report["events"][1]["detail"]  # its own process, stopped by PID
    assert report["environment"]["fault_proxy_seed"] == 11
    # The check table comes last, then the signing hook's lines and the verify command.
    lines = result.stdout.strip().splitlines()
    assert lines[-1].startswith("verify with: govchaos report verify")
    assert lines[-2].startswith("pin the signer (CI gates): ") and "--expect-key-id" in lines[-2]
    table = [i for i, line in enumerate(lines) if line.startswith(("PASS ", "FAIL "))]
    assert table and table[-1] == len(lines) - 4  # then "rendered ...; signed ...", pin, verify
    assert not any(" rps " in line for line in lines)
    progress = [line for line in result.stderr.splitlines() if line.startswith("[") and " rps " in line]
    assert len(progress) >= 4 and any(" faults " in line for line in progress)


@pytest.mark.slow
def test_impossible_assertion_exits_1(tmp_path: Path) -> None:
    out = tmp_path / "run"
    # A relative --out must work too (the gateway's config lives in another directory).
    result = _run("impossible.yaml", Path("run"), "--json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr[-3000:]
    report = _report(out)
    assert report["verdict"] == "failed" and report["partial"] is False
    failed = [a for a in report["assertions"] if not a["passed"]]
    assert [a["name"] for a in failed] == ["impossible"]
    # --json: stdout is exactly one JSON object; the human summary moves to stderr.
    data = json.loads(result.stdout)
    assert data["exit_code"] == 1 and data["verdict"] == "failed"
    assert data["failed_checks"] == ["impossible"] and data["run_id"] == report["run_id"]
    assert data["checks"]["failed"] == 1 and data["checks"]["total"] >= 2
    assert data["signing"]["mode"] == "ephemeral" and len(data["signing"]["key_id"]) == 64
    assert data["verify_command"].startswith("govchaos report verify ")
    assert Path(tmp_path / data["files"]["junit.xml"]).is_file()
    assert "FAIL impossible" in result.stderr


def test_keyless_without_token_exits_2_before_running(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SIGSTORE_ID_TOKEN"}
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "govchaos", "chaos", "run", str(SCENARIOS / "quick.yaml"),
         "--out", str(tmp_path / "o"), "--keyless"],
        cwd=REPO, capture_output=True, text=True, timeout=60, env=env,
    )
    assert result.returncode == 2, result.stderr
    assert "SIGSTORE_ID_TOKEN" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "o").exists() and time.monotonic() - started < 30


def test_broken_run_exits_2_with_partial_report(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = _run("broken.yaml", out, timeout=60)
    assert result.returncode == 2, result.stderr[-3000:]
    report = _report(out)
    assert report["verdict"] == "broken" and report["partial"] is True
    assert "base_urll" in report["verdict_reasons"][0]
    assert "Traceback" not in result.stderr


def test_invalid_scenario_exits_2_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text((SCENARIOS / "quick.yaml").read_text().replace("kind: upstream_down",
                                                                   "kind: upstream_dwn"))
    result = subprocess.run(
        [sys.executable, "-m", "govchaos", "chaos", "run", str(bad), "--out", str(tmp_path / "o")],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert "did you mean 'upstream_down'" in result.stderr
    assert f"{bad}:" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_ctrl_c_tears_down_and_writes_partial_report(tmp_path: Path) -> None:
    out = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "-m", "govchaos", "chaos", "run", str(SCENARIOS / "quick.yaml"),
         "--out", str(out)],
        cwd=REPO, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
        # Ctrl-C as a terminal delivers it: a shell running this suite in the background
        # (``make test &``) hands its children SIGINT ignored, and the run rightly ignores it.
        preexec_fn=_sigint_default,
    )
    try:
        deadline = time.monotonic() + 40
        assert process.stderr is not None
        seen = ""
        while time.monotonic() < deadline:  # wait until load is running
            line = process.stderr.readline()
            seen += line
            if "steady_before" in line or "faults" in line:
                break
            if process.poll() is not None:
                break
        assert "steady_before" in seen or "faults" in seen, seen
        process.send_signal(signal.SIGINT)
        _, rest = process.communicate(timeout=40)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, seen + rest
    report = _report(out)
    assert report["partial"] is True and report["verdict"] == "broken"
    assert "interrupted" in report["verdict_reasons"][0]
    assert report["phases"][-1]["name"] == "teardown"
    assert (out / "report.sigstore.json").is_file(), rest  # the partial report is signed too
    assert "PARTIAL" in rest and "verify with:" in rest
    pids = _pids(report)
    assert pids and not any(_alive(pid) for pid in pids)


# The harness with every fault revert 3 s slower than planned, as on a CPU-starved machine
# (restarting a killed upstream once took 4.4 s there).
_SLOW_REVERT = """
import asyncio
from chaos.runner import timeline

_revert = timeline.FaultTimeline._revert

async def _slow(self, name):
    await asyncio.sleep(3.0)
    await _revert(self, name)

timeline.FaultTimeline._revert = _slow
from govchaos.cli import main
raise SystemExit(main())
"""


@pytest.mark.slow
def test_a_slow_revert_moves_the_later_phases_and_they_still_have_load(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-c", _SLOW_REVERT, "chaos", "run", str(SCENARIOS / "quick.yaml"),
         "--out", str(out), "--seed", "11"],
        cwd=REPO, capture_output=True, text=True, timeout=90,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    report = _report(out)
    phases = {p["name"]: p for p in report["phases"]}
    fault = report["faults"][0]
    # the fault phase ran past its plan (2 s) by the slow revert ...
    assert phases["faults"]["end_s"] - phases["faults"]["start_s"] >= 2.0 + 3.0 - 0.2
    assert phases["recovery"]["start_s"] >= fault["reverted_at_s"] - 0.01
    # ... and recovery and steady_after kept their planned lengths (1 s and 2 s), with load
    assert phases["recovery"]["end_s"] - phases["recovery"]["start_s"] >= 1.0 - 0.05
    assert phases["steady_after"]["end_s"] - phases["steady_after"]["start_s"] >= 2.0 - 0.05
    after = report["steady_state"]["after"]
    assert after and all(p["requests"] > 0 and p["passed"] for p in after)
