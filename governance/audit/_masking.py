"""Masking of prompts and secrets before an event is hashed and written.

A configured field name is matched case-insensitively at any depth (dicts inside lists inside
dicts…). Its value is replaced by a marker:

- ``"[masked]"`` for secrets (``authorization``, ``api_key``… — :data:`DEFAULT_SECRET_FIELDS`
  plus any listed in ``secrets``). Secrets are always masked, even when not listed in ``fields``:
  the audit log must never hold a credential, not even a fingerprint of one.
- ``"[masked sha256:<first 12 hex>]"`` for other fields (prompts, messages): equal values give
  equal markers, so an auditor can tell that two requests carried the same prompt without
  reading it.

>>> rules = MaskingRules(fields=("prompt",))
>>> rules.apply({"prompt": "hi", "headers": {"Authorization": "Bearer k"}})["headers"]
{'Authorization': '[masked]'}
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, PrivateAttr, field_validator

SECRET_MARKER = "[masked]"
_SCALARS = frozenset({str, int, float, bool, type(None)})

DEFAULT_SECRET_FIELDS: tuple[str, ...] = (
    "authorization",
    "proxy-authorization",
    "api_key",
    "api-key",
    "apikey",
    "x-api-key",
    "cookie",
    "set-cookie",
    "password",
    "secret",
    "client_secret",
    "access_token",
    "refresh_token",
    "id_token",
)


def digest_marker(value: Any) -> str:
    """The marker for a masked non-secret value: a short sha256 of its canonical JSON."""
    try:
        raw = orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    except TypeError:
        raw = repr(value).encode("utf-8", "surrogatepass")
    return f"[masked sha256:{hashlib.sha256(raw).hexdigest()[:12]}]"


class MaskingRules(BaseModel):
    """Which field names to mask. Names are compared case-insensitively."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    fields: tuple[str, ...] = ()
    secrets: tuple[str, ...] = DEFAULT_SECRET_FIELDS
    _secret_set: frozenset[str] = PrivateAttr(default=frozenset())
    _all_set: frozenset[str] = PrivateAttr(default=frozenset())
    _cache: dict[Any, int] = PrivateAttr(default_factory=dict)

    @field_validator("fields", "secrets")
    @classmethod
    def _lower(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(name.lower() for name in names)

    def model_post_init(self, _context: Any) -> None:
        # Plain frozensets for the hot path (one lookup per key).
        self._secret_set = frozenset(self.secrets)
        self._all_set = frozenset(self.fields) | frozenset(self.secrets)

    def apply(self, event: dict[str, Any]) -> dict[str, Any]:
        """Return a copy of ``event`` with every configured field masked, at any depth."""
        return self._walk_dict(event)

    # Hot path (every audit record): scalar values are copied without a call, and the
    # case-insensitive name test is cached per key (bounded, keys are field names).
    def _action(self, key: Any) -> int:
        """0 keep, 1 digest marker, 2 secret marker."""
        cache = self._cache
        action = cache.get(key)
        if action is None:
            lowered = key.lower() if isinstance(key, str) else key
            action = 2 if lowered in self._secret_set else 1 if lowered in self._all_set else 0
            if len(cache) < 4096:
                cache[key] = action
        return action

    def _walk_dict(self, obj: dict[Any, Any]) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        cache = self._cache
        for key, value in obj.items():
            action = cache.get(key)
            if action is None:
                action = self._action(key)
            if action:
                out[key] = SECRET_MARKER if action == 2 else digest_marker(value)
            elif type(value) in _SCALARS:
                out[key] = value
            else:
                out[key] = self._walk(value)
        return out

    def _walk(self, value: Any) -> Any:
        if type(value) in _SCALARS:
            return value
        if isinstance(value, dict):
            return self._walk_dict(value)
        if isinstance(value, (list, tuple)):
            return [self._walk(item) for item in value]
        return value
