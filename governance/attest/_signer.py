"""The ``Signer`` protocol and the registry of signing modes.

>>> sorted(SIGNER_KINDS)
['ephemeral', 'key', 'keyless']
>>> signer_for("keys")
Traceback (most recent call last):
...
governance.attest._errors.SigningError: unknown signing mode 'keys' (did you mean 'key' or 'keyless'?)

A signer turns (payload type, payload) into a Sigstore bundle holding a DSSE envelope whose one
signature covers the PAE of that payload. Implementations: :class:`KeySigner` (an organisation
key), :class:`EphemeralKeySigner` (a fresh key per run), :class:`SigstoreKeylessSigner`
(Fulcio certificate + Rekor entry for an OIDC identity).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from sigstore_models.bundle.v1 import Bundle

from governance.attest._errors import SigningError
from governance.registry import suggestion


@runtime_checkable
class Signer(Protocol):
    def sign(self, payload_type: str, payload: bytes) -> Bundle:
        """Sign ``payload`` under ``payload_type``. Raises :class:`SigningError`."""
        ...


def _key(*, key_path: str | os.PathLike[str] | None = None, password: bytes | None = None, **_: Any) -> Signer:
    from governance.attest._key_signer import KeySigner

    if key_path is None:
        raise SigningError("signing mode 'key' needs a private key file (--key)")
    return KeySigner.from_file(key_path, password=password)


def _ephemeral(**_: Any) -> Signer:
    from governance.attest._key_signer import EphemeralKeySigner

    return EphemeralKeySigner()


def _keyless(*, identity_token: str | None = None, **_: Any) -> Signer:
    from governance.attest._keyless_signer import SigstoreKeylessSigner

    if not identity_token:
        raise SigningError(
            "keyless signing needs an OIDC identity token (e.g. SIGSTORE_ID_TOKEN in CI)"
        )
    return SigstoreKeylessSigner(identity_token)


# The registry: filled here, in one place.
SIGNER_KINDS: dict[str, Callable[..., Signer]] = {
    "key": _key,
    "ephemeral": _ephemeral,
    "keyless": _keyless,
}


def signer_for(kind: str, **options: Any) -> Signer:
    """Build the signer for ``kind`` ('key', 'ephemeral', 'keyless').

    Options: ``key_path``/``password`` (key), ``identity_token`` (keyless). Raises
    :class:`SigningError` for an unknown kind (suggesting the closest) or missing options, and
    :class:`KeyFileError` for an unusable key file.
    """
    factory = SIGNER_KINDS.get(kind)
    if factory is None:
        hint = suggestion(kind, SIGNER_KINDS, n=2, cutoff=0.6)
        raise SigningError(f"unknown signing mode {kind!r}{hint}")
    return factory(**options)
