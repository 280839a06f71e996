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
