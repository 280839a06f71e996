from __future__ import annotations

from pydantic import SecretStr

from gateway.auth import KeyStore


def store() -> KeyStore:
    return KeyStore([(SecretStr("sk-a"), "acme"), (SecretStr("sk-b"), "globex")])


def test_known_keys_map_to_tenants() -> None:
    s = store()
    assert s.tenant_for(b"Bearer sk-a") == "acme"
    assert s.tenant_for(b"bearer  sk-b ") == "globex"


def test_unknown_missing_or_malformed_keys() -> None:
    s = store()
    for value in (None, b"", b"Bearer", b"Bearer ", b"Basic sk-a", b"sk-a", b"Bearer sk-a2", b"Bearer sk-"):
        assert s.tenant_for(value) is None


def test_repr_holds_no_secret() -> None:
    assert "sk-a" not in repr(store())
