"""API key → tenant, compared in constant time.

Keys are kept only as SHA-256 digests. A lookup hashes the presented key once and compares it
with *every* stored digest using :func:`hmac.compare_digest`, without stopping at the first match,
so the time taken does not depend on which key (if any) matched or on how much of it did.

>>> from pydantic import SecretStr
>>> store = KeyStore([(SecretStr("sk-1"), "acme")])
>>> store.tenant_for(b"Bearer sk-1"), store.tenant_for(b"Bearer nope")
('acme', None)
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from pydantic import SecretStr


class KeyStore:
    """Maps a presented ``Authorization`` header to a tenant; holds no plaintext keys."""

    __slots__ = ("_entries",)

    def __init__(self, pairs: Iterable[tuple[SecretStr, str]]) -> None:
        self._entries = tuple(
            (hashlib.sha256(key.get_secret_value().encode()).digest(), tenant) for key, tenant in pairs
        )

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"KeyStore(<{len(self._entries)} keys>)"

    def tenant_for(self, authorization: bytes | None) -> str | None:
        """The tenant owning the bearer key in an ``Authorization`` header value, or None."""
        if not authorization:
            return None
        scheme, _, token = authorization.partition(b" ")
        if scheme.lower() != b"bearer":
            return None
        token = token.strip()
        if not token:
            return None
        digest = hashlib.sha256(token).digest()
        found = None
        for stored, tenant in self._entries:
            # no early exit: every digest is compared on every call
            if hmac.compare_digest(stored, digest):
                found = tenant
        return found
