"""ECDSA P-256 signing keys: generate, load, identify.

>>> import tempfile
>>> pair = generate_keypair(tempfile.mkdtemp())
>>> len(pair.key_id), pair.private_key.name
(64, 'govchaos-signing.key')

The key id is the hex sha256 of the DER SubjectPublicKeyInfo of the public key. It travels in the
bundle as ``verificationMaterial.publicKey.hint`` — a hint only: verification always checks the
signature with the key the verifier supplies.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import BaseModel, ConfigDict

from governance.attest._errors import KeyExistsError, KeyFileError
from governance.errors import Location

PRIVATE_KEY_FILENAME = "govchaos-signing.key"
PUBLIC_KEY_FILENAME = "govchaos-signing.pub"


class KeyPairFiles(BaseModel):
    model_config = ConfigDict(frozen=True)

    private_key: Path
    public_key: Path
    key_id: str


def key_id(public_key: ec.EllipticCurvePublicKey) -> str:
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def public_pem(public_key: ec.EllipticCurvePublicKey) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def new_private_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def generate_keypair(
    out_dir: str | os.PathLike[str], *, force: bool = False, password: bytes | None = None
) -> KeyPairFiles:
    """Write ``govchaos-signing.key`` (PKCS#8 PEM, mode 0600) and ``govchaos-signing.pub``.

    Raises :class:`KeyExistsError` if either file exists and ``force`` is false, and
    :class:`KeyFileError` if the directory cannot be written.
    """
    directory = Path(out_dir)
    if directory.exists() and not directory.is_dir():
        raise KeyFileError(
            "not a directory: --out names the directory the key pair is written to",
            location=Location(str(directory)),
        )
    private_path = directory / PRIVATE_KEY_FILENAME
    public_path = directory / PUBLIC_KEY_FILENAME
    if not force:
        for path in (private_path, public_path):
            if path.exists():
                raise KeyExistsError(
                    "a signing key already exists here; pass --force to replace it",
                    location=Location(str(path)),
                )
    key = new_private_key()
    encryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    private_bytes = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    try:
        directory.mkdir(parents=True, exist_ok=True)
        _write_private(private_path, private_bytes)
        _write_atomic(public_path, public_pem(key.public_key()), 0o644)
    except OSError as exc:
        raise KeyFileError(
            f"cannot write key: {exc.strerror or exc}", location=Location(str(directory))
        ) from exc
    return KeyPairFiles(
        private_key=private_path, public_key=public_path, key_id=key_id(key.public_key())
    )


def _write_private(path: Path, data: bytes) -> None:
    # Created 0600 from the start (never world-readable, not even briefly), then moved in place.
    _write_atomic(path, data, 0o600)


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    """Write ``data`` to a temp file beside ``path`` and move it in place.

    Raises :class:`OSError` when any step fails; the temp file is removed first, so a failed
    write (disk full, I/O error, Ctrl-C) leaves neither a partial key nor a stray ``.tmp``.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        try:
            view = memoryview(data)
            while view:  # os.write may write less than asked
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(tmp, mode)  # the umask may have removed bits; set exactly
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _read(path: Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise KeyFileError(
            f"cannot read key file: {exc.strerror or exc}", location=Location(str(path))
        ) from exc


def load_private_key(
    path: str | os.PathLike[str], password: bytes | None = None
) -> ec.EllipticCurvePrivateKey:
    """Load an ECDSA P-256 private key from a PEM file.

    Raises :class:`KeyFileError` naming the file when it is missing, not a PEM private key,
    encrypted without a password given (or with the wrong one), or not ECDSA P-256.
    """
    data = _read(Path(path))
    if b"PUBLIC KEY" in data and b"PRIVATE KEY" not in data:
        raise KeyFileError(
            "this is a public key; signing needs the private key (.key)",
            location=Location(str(path)),
        )
    try:
        key = serialization.load_pem_private_key(data, password=password)
    except TypeError as exc:
        message = (
            "the private key is encrypted; a password is needed"
            if password is None
            else "a password was given but the private key is not encrypted"
        )
        raise KeyFileError(message, location=Location(str(path))) from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        reason = "not a PEM private key" + (" (or the wrong password)" if password else "")
        raise KeyFileError(reason, location=Location(str(path))) from exc
    _require_p256(key, path)
    return key  # type: ignore[return-value]


def load_public_key(path: str | os.PathLike[str]) -> ec.EllipticCurvePublicKey:
    """Load an ECDSA P-256 public key (SubjectPublicKeyInfo PEM).

    Raises :class:`KeyFileError` naming the file when it is missing, not a PEM public key (a
    private key given by mistake is named as such), or not ECDSA P-256.
    """
    data = _read(Path(path))
    if b"PRIVATE KEY" in data:
        raise KeyFileError(
            "this is a private key; verification needs the public key (.pub)",
            location=Location(str(path)),
        )
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise KeyFileError("not a PEM public key", location=Location(str(path))) from exc
    _require_p256(key, path)
    return key  # type: ignore[return-value]


def _require_p256(key: object, path: str | os.PathLike[str]) -> None:
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) and isinstance(
        key.curve, ec.SECP256R1
    ):
        return
    name = getattr(getattr(key, "curve", None), "name", type(key).__name__)
    raise KeyFileError(
        f"unsupported key type {name}: govchaos signs with ECDSA P-256",
        location=Location(str(path)),
    )
