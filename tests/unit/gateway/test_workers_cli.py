"""`gateway serve --workers N`: what is refused before any worker starts (located, exit 2/1,
no traceback)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from gateway.config import GatewayConfig
from gateway.workers import worker_config
from govchaos.cli import main


def _config(tmp_path: Path, audit: str) -> Path:
    cfg = tmp_path / "gw.yaml"
    cfg.write_text(f"auth: {{keys_env: GOVCHAOS_TEST_KEYS}}\naudit: {audit}\n")
    return cfg


@pytest.mark.parametrize("n", ["0", "65", "-1"])
def test_worker_count_out_of_range_exits_2(tmp_path: Path, capsys, n: str) -> None:
    cfg = _config(tmp_path, "{directory: audit}")
    assert main(["gateway", "serve", "--config", str(cfg), "--port", "0", "--workers", n]) == 2
    err = capsys.readouterr().err
    assert f"error[invalid_config]: --workers: must be within 1..64, got {n}" in err
    assert "Traceback" not in err


def test_workers_refuse_a_single_audit_file(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("GOVCHAOS_TEST_KEYS", "sk-a=acme-health")
    cfg = _config(tmp_path, "{path: audit.jsonl}")
    assert main(["gateway", "serve", "--config", str(cfg), "--port", "0", "--workers", "2"]) == 2
    err = capsys.readouterr().err
    assert f"{cfg}: audit.path: --workers above 1 needs audit.directory" in err
    assert not (tmp_path / "audit.jsonl").exists() and "Traceback" not in err


def test_workers_refuse_an_otlp_sink(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("GOVCHAOS_TEST_KEYS", "sk-a=acme-health")
    cfg = _config(tmp_path, "{directory: audit, sinks: [{kind: directory, path: copies},"
                  " {kind: otlp, endpoint: 'http://127.0.0.1:1'}]}")
    assert main(["gateway", "serve", "--config", str(cfg), "--port", "0", "--workers", "2"]) == 2
    err = capsys.readouterr().err
    assert f"{cfg}: audit.sinks.1: a otlp sink cannot be split per worker" in err
    assert not (tmp_path / "audit").exists()


def test_workers_port_in_use_fails_before_any_worker(tmp_path: Path, capsys,
                                                     monkeypatch) -> None:
    monkeypatch.setenv("GOVCHAOS_TEST_KEYS", "sk-a=acme-health")
    cfg = _config(tmp_path, "{directory: audit}")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        rc = main(["gateway", "serve", "--config", str(cfg), "--port", str(port),
                   "--workers", "2"])
    assert rc == 1
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err and "Traceback" not in err
    assert not (tmp_path / "audit" / "workers.json").exists()


def test_worker_config_splits_the_chain_and_the_sinks() -> None:
    cfg = GatewayConfig.model_validate({"auth": {"keys_env": "K"}, "audit": {"directory": "/a", "sinks": [
        {"kind": "directory", "path": "/copies"}, {"kind": "s3", "bucket": "bkt", "prefix": "gw/"}]}})
    w = worker_config(cfg, 3)
    assert w.audit.directory == Path("/a/worker-3")
    assert w.audit.sinks[0].path == Path("/copies/worker-3")
    assert w.audit.sinks[1].prefix == "gw/worker-3/"
    assert worker_config(cfg, 3) == w and cfg.audit.directory == Path("/a")


def test_each_worker_enforces_its_share_of_every_budget() -> None:
    # budget state is per worker: N workers each at the full limit could spend N x the budget
    cfg = GatewayConfig.model_validate({
        "auth": {"keys_env": "K"}, "audit": {"directory": "/a"},
        "budgets": [{"scope": "tenant", "name": "t", "usd_per_hour": 3.0}]})
    shares = [worker_config(cfg, i, 3).budgets[0].usd_per_hour for i in range(3)]
    assert shares == [1.0, 1.0, 1.0] and sum(shares) == cfg.budgets[0].usd_per_hour
    assert worker_config(cfg, 0).budgets[0].usd_per_hour == 3.0  # one worker: the whole budget


def test_one_process_refuses_a_worker_set_directory(tmp_path: Path, capsys,
                                                    monkeypatch) -> None:
    monkeypatch.setenv("GOVCHAOS_TEST_KEYS", "sk-a=acme-health")
    cfg = _config(tmp_path, "{directory: audit}")
    (tmp_path / "audit").mkdir()
    (tmp_path / "audit" / "workers.json").write_text("{}")
    assert main(["gateway", "serve", "--config", str(cfg), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert f"{cfg}: audit.directory: " in err and "holds the chains of a --workers run" in err


def test_workers_refuse_a_single_process_chain(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("GOVCHAOS_TEST_KEYS", "sk-a=acme-health")
    cfg = _config(tmp_path, "{directory: audit}")
    (tmp_path / "audit").mkdir()
    (tmp_path / "audit" / "audit-000000.jsonl").write_text("")
    assert main(["gateway", "serve", "--config", str(cfg), "--port", "0", "--workers", "2"]) == 2
    err = capsys.readouterr().err
    assert f"{cfg}: audit.directory: " in err and "holds a single process's chain" in err
    assert not (tmp_path / "audit" / "workers.json").exists()
