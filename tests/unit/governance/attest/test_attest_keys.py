from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from governance.attest import (
    KeyExistsError,
    KeyFileError,
    generate_keypair,
    key_id,
    load_private_key,
    load_public_key,
)


def test_generate_writes_private_0600_and_public(tmp_path: Path) -> None:
    pair = generate_keypair(tmp_path / "keys")
    assert stat.S_IMODE(pair.private_key.stat().st_mode) == 0o600
    private = load_private_key(pair.private_key)
    public = load_public_key(pair.public_key)
    assert key_id(private.public_key()) == key_id(public) == pair.key_id
    assert not list((tmp_path / "keys").glob(".*.tmp"))


def test_generate_refuses_to_overwrite_unless_forced(tmp_path: Path) -> None:
    first = generate_keypair(tmp_path)
    with pytest.raises(KeyExistsError, match="--force"):
        generate_keypair(tmp_path)
    assert load_public_key(first.public_key)  # untouched
    second = generate_keypair(tmp_path, force=True)
    assert second.key_id != first.key_id


def test_encrypted_private_key(tmp_path: Path) -> None:
    pair = generate_keypair(tmp_path, password=b"pw")
    with pytest.raises(KeyFileError, match="encrypted"):
        load_private_key(pair.private_key)
    with pytest.raises(KeyFileError, match="wrong password"):
        load_private_key(pair.private_key, b"nope")
    assert load_private_key(pair.private_key, b"pw")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not a PEM public key"),
        (b"hello", "not a PEM public key"),
        (b"-----BEGIN PRIVATE KEY-----\n", "this is a private key"),
    ],
)
def test_bad_public_key_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "k.pub"
    path.write_bytes(content)
    with pytest.raises(KeyFileError, match=message) as info:
        load_public_key(path)
    assert info.value.location.file == str(path)
    assert info.value.exit_code == 2


def test_missing_and_wrong_curve_keys(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="cannot read"):
        load_public_key(tmp_path / "absent.pub")
    p384 = ec.generate_private_key(ec.SECP384R1())
    path = tmp_path / "p384.key"
    path.write_bytes(
        p384.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(KeyFileError, match="secp384r1"):
        load_private_key(path)
    ed = ed25519.Ed25519PrivateKey.generate().public_key()
    path = tmp_path / "ed.pub"
    path.write_bytes(
        ed.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(KeyFileError, match="ECDSA P-256"):
        load_public_key(path)


@pytest.mark.parametrize("failing", ["write", "fsync", "replace"])
def test_failed_write_leaves_no_tmp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         failing: str) -> None:
    import os

    from governance.attest import _keys

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_keys.os, failing, boom)
    with pytest.raises(KeyFileError, match="No space left on device"):
        generate_keypair(tmp_path)
    monkeypatch.undo()
    assert sorted(os.listdir(tmp_path)) == []


def test_short_writes_are_completed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from governance.attest import _keys

    real_write = _keys.os.write
    monkeypatch.setattr(_keys.os, "write", lambda fd, data: real_write(fd, bytes(data[:7])))
    pair = generate_keypair(tmp_path)
    monkeypatch.undo()
    load_private_key(pair.private_key)  # the whole PEM made it to disk
