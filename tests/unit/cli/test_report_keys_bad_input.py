"""Invariant 6 for `govchaos report` and `govchaos keys`: named errors and exit codes, no tracebacks."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from chaos.runner.synthetic import synthesize_run_dir
from govchaos.cli import main


@pytest.fixture(scope="module")
def signed(tmp_path_factory) -> Path:
    root = synthesize_run_dir(tmp_path_factory.mktemp("r") / "run", duration_s=2.0, rps=5.0)
    assert main(["report", "sign", str(root)]) == 0
    return root


def _copy(signed: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(signed, tmp_path / "copy"))


def test_symlinked_file_is_named_as_a_completeness_failure(signed, tmp_path, capsys) -> None:
    root = _copy(signed, tmp_path)
    (root / "report.json").unlink()
    (root / "report.json").symlink_to(signed / "report.json")
    assert main(["report", "verify", str(root)]) == 1
    out = capsys.readouterr().out
    assert "FAIL  completeness" in out and "report.json: a symbolic link" in out


@pytest.mark.parametrize("target", ["report.html", "report.sigstore.json", "signing-key.pub"])
def test_sign_cannot_write_is_exit_2_and_leaves_no_stray_file(signed, tmp_path, capsys, target) -> None:
    root = _copy(signed, tmp_path)
    (root / target).unlink()
    (root / target).mkdir()  # something that cannot be replaced by a file
    assert main(["report", "sign", str(root)]) == 2
    err = capsys.readouterr().err
    assert f"cannot write {target}" in err and "Traceback" not in err
    assert not [p for p in os.listdir(root) if p.endswith(".tmp")]


def test_sign_with_public_key_says_so(signed, tmp_path, capsys) -> None:
    assert main(["keys", "generate", "--out", str(tmp_path)]) == 0
    root = _copy(signed, tmp_path)
    capsys.readouterr()
    assert main(["report", "sign", str(root), "--key", str(tmp_path / "govchaos-signing.pub")]) == 2
    assert "this is a public key; signing needs the private key" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "needle"),
    [(b"not pem", "not a PEM private key"), (b"\xff\x00\xfe", "not a PEM private key")],
)
def test_sign_with_garbage_key(signed, tmp_path, capsys, content, needle) -> None:
    key = tmp_path / "k.key"
    key.write_bytes(content)
    assert main(["report", "sign", str(_copy(signed, tmp_path)), "--key", str(key)]) == 2
    err = capsys.readouterr().err
    assert needle in err and "wrong password" not in err


def test_sign_with_encrypted_or_wrong_curve_key(signed, tmp_path, capsys) -> None:
    enc = tmp_path / "enc.key"
    enc.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw")))
    p384 = tmp_path / "p384.key"
    p384.write_bytes(ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    root = _copy(signed, tmp_path)
    assert main(["report", "sign", str(root), "--key", str(enc)]) == 2
    assert "encrypted" in capsys.readouterr().err
    assert main(["report", "sign", str(root), "--key", str(p384)]) == 2
    assert "P-256" in capsys.readouterr().err


def test_keys_generate_out_is_a_file(tmp_path, capsys) -> None:
    (tmp_path / "f").write_text("x")
    assert main(["keys", "generate", "--out", str(tmp_path / "f")]) == 2
    assert "not a directory" in capsys.readouterr().err


@pytest.mark.parametrize("cmd", ["verify", "show", "sign"])
def test_missing_or_empty_directory_is_exit_2(tmp_path, capsys, cmd) -> None:
    for d in (tmp_path / "nope", tmp_path):
        assert main(["report", cmd, str(d)]) == 2
        assert "Traceback" not in capsys.readouterr().err
