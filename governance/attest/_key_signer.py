"""Signing with an ECDSA P-256 key: an organisation key from a file, or an ephemeral one.

>>> signer = EphemeralKeySigner()
>>> bundle = signer.sign("application/vnd.in-toto+json", b"{}")
>>> bundle.verification_material.public_key.hint == signer.key_id
True
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from sigstore_models.bundle.v1 import Bundle

from governance.attest._bundle import key_bundle
from governance.attest._dsse import pae
from governance.attest._keys import (
    PUBLIC_KEY_FILENAME,
    key_id,
    load_private_key,
    new_private_key,
    public_pem,
)


class KeySigner:
    """Signs with a given private key; the bundle names the key by its id (``publicKey.hint``)."""

    def __init__(self, private_key: ec.EllipticCurvePrivateKey) -> None:
        self._key = private_key
        self.key_id = key_id(private_key.public_key())

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], password: bytes | None = None) -> KeySigner:
        """Raises :class:`KeyFileError` for a missing, malformed or non-P-256 key."""
        return cls(load_private_key(path, password))

    @property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._key.public_key()

    @property
    def public_pem(self) -> bytes:
        return public_pem(self._key.public_key())

    def sign(self, payload_type: str, payload: bytes) -> Bundle:
        signature = self._key.sign(pae(payload_type, payload), ec.ECDSA(hashes.SHA256()))
        return key_bundle(payload_type, payload, signature, self.key_id)


class EphemeralKeySigner(KeySigner):
    """A fresh key for one run. Its public half must travel with the report (see
    :meth:`write_public_key`), and the report must say the key is ephemeral: it proves integrity
    since signing, not who signed."""

    def __init__(self) -> None:
        super().__init__(new_private_key())

    def write_public_key(self, directory: str | os.PathLike[str], name: str = PUBLIC_KEY_FILENAME) -> Path:
        path = Path(directory) / name
        path.write_bytes(self.public_pem)
        return path
