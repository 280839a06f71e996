"""Masking of prompts and secrets before an event is hashed and written.

A configured field name is matched case-insensitively at any depth (dicts inside lists inside
dicts…). Its value is replaced by a marker:

- ``"[masked]"`` for secrets (``authorization``, ``api_key``… — :data:`DEFAULT_SECRET_FIELDS`
  plus any listed in ``secrets``). Secrets are always masked, even when not listed in ``fields``:
  the audit log must never hold a credential, not even a fingerprint of one.
- for other fields (prompts, messages): ``"[masked hmac-sha256:<first 16 hex>]"`` when the
  rules carry a per-deployment ``key`` — a keyed digest (HMAC-SHA256 of the value's canonical
  JSON): equal values give equal markers, so an auditor can tell that two requests carried the
  same prompt without reading it, and without the key nobody can confirm a guessed prompt
  against the log; without a key just ``"[masked]"`` (no digest at all). An unkeyed hash is
  never written: a short, guessable prompt could be confirmed by hashing candidates.
  Rotating the key makes markers of before and after incomparable, nothing else.

>>> rules = MaskingRules(fields=("prompt",))
>>> rules.apply({"prompt": "hi", "headers": {"Authorization": "Bearer k"}})["headers"]
{'Authorization': '[masked]'}

Fast path (:meth:`MaskingRules.view`, used by the audit log on every record). A masked name can
only be a dict key, and a key whose lowercase equals a configured name appears verbatim between
two double quotes in the event's JSON text (the names hold no character JSON escapes). So the
event is serialized once by orjson (C), lowercased, split on ``"`` and the pieces are tested
against the names with one set operation: when no piece is a name — the usual gateway record —
nothing can be masked and the walk is skipped. Any hit (a key *or* a string value equal to a
name), any value orjson cannot serialize, or a name the test cannot express falls back to the
general walk, so the result is exactly the walk's.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, PrivateAttr, SecretBytes, field_validator

SECRET_MARKER = "[masked]"
# Characters orjson escapes inside a JSON string: a name holding one cannot be found verbatim.
_ESCAPED = re.compile(r'["\\\x00-\x1f]')
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


def digest_marker(value: Any, key: bytes | None) -> str:
    """The marker for a masked non-secret value: a short HMAC-SHA256 of its canonical JSON
    under ``key``, or the bare marker without a key."""
    if not key:
        return SECRET_MARKER
    try:
        raw = orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    except TypeError:
        raw = repr(value).encode("utf-8", "surrogatepass")
    return f"[masked hmac-sha256:{hmac.new(key, raw, hashlib.sha256).hexdigest()[:16]}]"


def _trie(words: frozenset[bytes]) -> bytes:
    """A regex matching exactly ``words``, factored by common prefixes (faster than ``a|b|c``)."""
    groups: dict[bytes, set[bytes]] = {}
    for word in words:
        if word:
            groups.setdefault(word[:1], set()).add(word[1:])
    alts = [re.escape(first) + _trie(frozenset(rest)) for first, rest in sorted(groups.items())]
    if not alts:
        return b""
    body = alts[0] if len(alts) == 1 and b"" not in words else b"(?:" + b"|".join(alts) + b")"
    return body + b"?" if b"" in words else body


class _Masker:
    """The hot-path state of one :class:`MaskingRules` (a plain object: attribute access on a
    pydantic model's private attributes costs a ``__getattr__`` call each time)."""

    __slots__ = ("secret_set", "all_set", "cache", "quoted_ascii", "pattern", "key")

    def __init__(self, fields: tuple[str, ...], secrets: tuple[str, ...], key: bytes | None
                 ) -> None:
        self.key = key
        self.secret_set = frozenset(secrets)
        self.all_set = frozenset(fields) | self.secret_set
        self.cache: dict[Any, int] = {}
        # The text test of :meth:`view` needs ASCII names without JSON-escaped characters
        # (non-ASCII names could match keys only through Unicode case folding of the text).
        self.quoted_ascii: frozenset[bytes] | None = None
        self.pattern: re.Pattern[bytes] | None = None
        if self.all_set and all(
            name.isascii() and not _ESCAPED.search(name) for name in self.all_set
        ):
            self.quoted_ascii = frozenset(name.encode("ascii") for name in self.all_set)
            # '"' + any name + '"' as a prefix tree: one regex pass over the text
            self.pattern = re.compile(b'"' + _trie(self.quoted_ascii) + b'"')

    def view(self, event: dict[str, Any]) -> dict[str, Any]:
        names = self.quoted_ascii
        if names is not None:
            try:
                raw = orjson.dumps(event)
            except TypeError:
                raw = None  # not JSON as it is: the walk decides (and the writer rejects it)
            if raw is not None:
                if raw.isascii():
                    clean = self.pattern.search(raw.lower()) is None  # type: ignore[union-attr]
                else:
                    # str.lower folds e.g. KELVIN SIGN to "k", as the walk's key.lower() does.
                    text = raw.decode("utf-8").lower()
                    clean = not any(
                        piece.isascii() and piece.encode("ascii") in names
                        for piece in text.split('"')
                    )
                if clean:
                    return dict(event)
        return self.walk_dict(event)

    # The walk: scalar values are copied without a call, and the case-insensitive name test is
    # cached per key (bounded, keys are field names).
    def action(self, key: Any) -> int:
        """0 keep, 1 digest marker, 2 secret marker."""
        cache = self.cache
        action = cache.get(key)
        if action is None:
            lowered = key.lower() if isinstance(key, str) else key
            action = 2 if lowered in self.secret_set else 1 if lowered in self.all_set else 0
            if len(cache) < 4096:
                cache[key] = action
        return action

    def walk_dict(self, obj: dict[Any, Any]) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        cache = self.cache
        for key, value in obj.items():
            action = cache.get(key)
            if action is None:
                action = self.action(key)
            if action:
                out[key] = SECRET_MARKER if action == 2 else digest_marker(value, self.key)
            elif type(value) in _SCALARS:
                out[key] = value
            else:
                out[key] = self.walk(value)
        return out

    def walk(self, value: Any) -> Any:
        if type(value) in _SCALARS:
            return value
        if isinstance(value, dict):
            return self.walk_dict(value)
        if isinstance(value, (list, tuple)):
            return [self.walk(item) for item in value]
        return value


class MaskingRules(BaseModel):
    """Which field names to mask, and the per-deployment key of their digests (none: no
    digest). Names are compared case-insensitively."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    fields: tuple[str, ...] = ()
    secrets: tuple[str, ...] = DEFAULT_SECRET_FIELDS
    key: SecretBytes | None = None
    _masker: _Masker = PrivateAttr()

    @field_validator("fields", "secrets")
    @classmethod
    def _lower(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(name.lower() for name in names)

    def model_post_init(self, _context: Any) -> None:
        key = self.key.get_secret_value() if self.key is not None else None
        self._masker = _Masker(self.fields, self.secrets, key or None)

    def apply(self, event: dict[str, Any]) -> dict[str, Any]:
        """Return a copy of ``event`` with every configured field masked, at any depth."""
        return self.__pydantic_private__["_masker"].walk_dict(event)  # type: ignore[index]

    def view(self, event: dict[str, Any]) -> dict[str, Any]:
        """Masked version of ``event`` for immediate serialization (the audit log's hot path).

        Masks exactly what :meth:`apply` masks, but when nothing in ``event`` can need masking
        it returns a *shallow* copy that shares nested values with ``event``: callers may add or
        replace top-level keys, not mutate nested values.
        """
        return self.__pydantic_private__["_masker"].view(event)  # type: ignore[index]
