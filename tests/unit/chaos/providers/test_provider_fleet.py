"""Fleets: in-process, the HTTP control server, the child process and its spec file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from provider_helpers import chat_body

from chaos.providers import (
    FleetProcess,
    FleetProcessError,
    FleetSpec,
    FleetSpecError,
    ProviderError,
    UnknownUpstreamError,
    UpstreamFleet,
    MockUpstreamSpec,
    read_request_log,
)
from chaos.providers.control_server import control_app
from chaos.providers.serve import load_fleet_spec

SPECS = [
    MockUpstreamSpec(name="private-eu", model="llama-3.1-70b-private-eu"),
    MockUpstreamSpec(name="cloud-us", model="gpt-4o-cloud-us"),
]


async def test_in_process_fleet_logs_to_files_and_merges(tmp_path: Path) -> None:
    async with UpstreamFleet(SPECS, log_dir=tmp_path) as fleet, aiohttp.ClientSession() as s:
        for name in ("cloud-us", "private-eu"):
            async with s.post(f"{fleet[name].url}/v1/chat/completions", json=chat_body()) as r:
                assert r.status == 200
        assert [e.upstream for e in fleet.request_log()] == ["cloud-us", "private-eu"]
    assert read_request_log(tmp_path / "cloud-us.jsonl")[0].served_model == "gpt-4o-cloud-us"


def test_fleet_rejects_duplicates_and_suggests_names() -> None:
    with pytest.raises(ProviderError, match="used twice"):
        UpstreamFleet([SPECS[0], SPECS[0]])
    with pytest.raises(UnknownUpstreamError, match="did you mean 'private-eu'"):
        UpstreamFleet(SPECS)["private-e"]


async def test_control_server_drives_faults_kill_and_restart() -> None:
    fleet = UpstreamFleet(SPECS)
    await fleet.start()
    client = TestClient(TestServer(control_app(fleet), host="127.0.0.1"))
    await client.start_server()
    try:
        base = "/_govchaos/upstreams"
        resp = await client.post(f"{base}/cloud-us/fault", json={"kind": "hang"})
        assert resp.status == 200 and fleet["cloud-us"].fault.kind == "hang"
        resp = await client.delete(f"{base}/cloud-us/fault")
        assert resp.status == 200 and fleet["cloud-us"].fault is None
        resp = await client.post(f"{base}/cloud-us/kill")
        assert (await resp.json())["state"] == "killed"
        resp = await client.post(f"{base}/cloud-us/restart")
        assert (await resp.json())["state"] == "running"
        resp = await client.post(f"{base}/nobody/kill")
        assert resp.status == 404 and (await resp.json())["status"] == 404
        resp = await client.get(base)
        assert set((await resp.json())["upstreams"]) == {"private-eu", "cloud-us"}
    finally:
        await client.close()
        await fleet.stop()


async def test_fleet_process_kill_restart_over_http(tmp_path: Path) -> None:
    spec = FleetSpec(upstreams=SPECS, log_dir=str(tmp_path / "logs"))
    async with FleetProcess(spec, workdir=tmp_path) as fleet, aiohttp.ClientSession() as s:
        url = fleet.ready.upstreams["private-eu"].url
        await fleet.control.set_fault("private-eu", "error_500")
        async with s.post(f"{url}/v1/chat/completions", json=chat_body()) as r:
            assert r.status == 500
        info = await fleet.control.kill("private-eu")
        assert info.state == "killed"
        with pytest.raises(aiohttp.ClientConnectorError):
            await s.get(f"{url}/health")
        info = await fleet.control.restart("private-eu")
        assert info.url == url
        await fleet.control.clear_fault("private-eu")
        async with s.post(f"{url}/v1/chat/completions", json=chat_body()) as r:
            assert r.status == 200
        assert [e.outcome for e in await fleet.control.requests("private-eu")] == [
            "error_500",
            "ok",
        ]
        with pytest.raises(FleetProcessError, match="unknown upstream"):
            await fleet.control.kill("nobody")
        assert await fleet.stop() == 0  # SIGTERM: clean exit
    assert len(read_request_log(tmp_path / "logs" / "private-eu.jsonl")) == 2


def test_spec_errors_name_file_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "fleet.yaml"
    bad.write_text("upstreams:\n  - name: a\n    model: m\n    latency: {base_ms: -1}\n")
    with pytest.raises(FleetSpecError, match=r"fleet\.yaml: upstreams\.0\.latency\.base_ms"):
        load_fleet_spec(bad)
    bad.write_text("upstreams: [\n")
    with pytest.raises(FleetSpecError, match=r"fleet\.yaml:\d+"):
        load_fleet_spec(bad)


def test_serve_with_bad_spec_exits_2_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "fleet.yaml"
    bad.write_text("upstreams: []\n")
    proc = subprocess.run(
        [sys.executable, "-m", "chaos.providers", "serve", "--spec", str(bad)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert "error[invalid_fleet_spec]" in proc.stderr and "Traceback" not in proc.stderr
