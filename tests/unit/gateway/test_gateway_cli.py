from __future__ import annotations

from pathlib import Path

from govchaos.cli import main


def test_serve_with_invalid_config_exits_2_without_traceback(tmp_path: Path, capsys) -> None:
    cfg = tmp_path / "gw.yaml"
    cfg.write_text("auth: {keys_env: K}\nroutes: {r: {strategy: fastest}}\n")
    assert main(["gateway", "serve", "--config", str(cfg), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "routes.r.strategy" in err and str(cfg) in err and "Traceback" not in err


def test_serve_requires_config(capsys) -> None:
    assert main(["gateway", "serve"]) == 2


def test_bad_port(tmp_path: Path, capsys) -> None:
    assert main(["gateway", "serve", "--config", str(tmp_path / "x.yaml"), "--port", "70000"]) == 2


def test_non_utf8_config_exits_2_with_a_located_config_error(tmp_path: Path, capsys) -> None:
    cfg = tmp_path / "gw.yaml"
    cfg.write_bytes(b"auth: {keys_env: K}\nupstreams: [] # \xff\xfe\n")
    assert main(["gateway", "serve", "--config", str(cfg), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "error[invalid_config]" in err and str(cfg) in err and "not UTF-8" in err
    assert "internal_error" not in err and "Traceback" not in err


def test_key_shared_by_two_tenants_exits_2(tmp_path: Path, capsys, monkeypatch) -> None:
    cfg = tmp_path / "gw.yaml"
    cfg.write_text("auth: {keys_env: GOVCHAOS_TEST_KEYS}\n")
    monkeypatch.setenv("GOVCHAOS_TEST_KEYS", "sk-a=acme-health,sk-a=globex-retail")
    assert main(["gateway", "serve", "--config", str(cfg), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "error[invalid_config]" in err and "'acme-health' and 'globex-retail'" in err
    assert "sk-a" not in err
