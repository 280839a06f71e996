"""Sigstore keyless signing: a Fulcio certificate for an OIDC identity, logged in Rekor.

Needs network access to the Sigstore public-good instance (or the trust config given). The
identity token is passed in by the caller (e.g. from ``SIGSTORE_ID_TOKEN`` in CI); this module
never reads the environment.
"""

from __future__ import annotations

from typing import Any

from sigstore_models.bundle.v1 import Bundle

from governance.attest._errors import SigningError
from governance.attest._statement import INTOTO_PAYLOAD_TYPE


class SigstoreKeylessSigner:
    def __init__(self, identity_token: str, *, trust_config: Any | None = None) -> None:
        """Raises :class:`SigningError` if the token is not a usable OIDC identity token."""
        from sigstore.errors import Error as SigstoreError
        from sigstore.oidc import IdentityToken

        try:
            self._token = IdentityToken(identity_token)
        except SigstoreError as exc:
            raise SigningError(f"the OIDC identity token is not usable: {exc}") from exc
        self._trust_config = trust_config

    @property
    def identity(self) -> str:
        return str(self._token.identity)

    @property
    def issuer(self) -> str:
        return str(self._token.issuer)

    def sign(self, payload_type: str, payload: bytes) -> Bundle:
        """Raises :class:`SigningError` for a non-in-toto payload or any Sigstore failure."""
        if payload_type != INTOTO_PAYLOAD_TYPE:
            raise SigningError(
                f"keyless signing supports only {INTOTO_PAYLOAD_TYPE!r} payloads, not {payload_type!r}"
            )
        from sigstore import dsse
        from sigstore.errors import Error as SigstoreError
        from sigstore.models import ClientTrustConfig
        from sigstore.sign import SigningContext

        try:
            config = self._trust_config or ClientTrustConfig.production()
            context = SigningContext.from_trust_config(config)
            with context.signer(self._token, cache=False) as signer:
                signed = signer.sign_dsse(dsse.Statement(payload))
        except SigstoreError as exc:
            raise SigningError(f"keyless signing failed: {exc}") from exc
        except OSError as exc:  # network: Fulcio, Rekor, TUF
            raise SigningError(f"keyless signing failed (Sigstore unreachable?): {exc}") from exc
        return Bundle.from_json(signed.to_json())
