"""Decision cache: bounded LRU keyed by canonical input, and the rule for when not to cache.

A cached decision is only correct while the policy is a pure function of (input, data), so:

- the cache is cleared on every reload (a new bundle means a new function);
- a bundle whose decision modules call non-deterministic builtins (time, randomness, HTTP,
  UUIDs, runtime facts) is never cached — :func:`uses_nondeterminism` finds them.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterable

from governance.decision import Decision

from governance.engine.bundle import RegoModule

# Builtins whose result can change between two evaluations of the same input.
NONDETERMINISTIC_BUILTINS = (
    "time.now_ns",
    "rand.intn",
    "rand.",
    "http.send",
    "uuid.rfc4122",
    "uuid.",
    "opa.runtime",
    "net.lookup_ip_addr",
    "crypto.x509.parse_and_verify_certificates",  # checks validity against the current time
    "io.jwt.decode_verify",  # checks exp/nbf against the current time
    "trace(",
)
_PATTERN = re.compile(
    r"(?<![\w.])(" + "|".join(re.escape(b) for b in NONDETERMINISTIC_BUILTINS) + r")"
)
_COMMENT = re.compile(r"#[^\n]*")


def uses_nondeterminism(modules: Iterable[RegoModule]) -> tuple[str, ...]:
    """Names of non-deterministic builtins the modules call (comments ignored); empty if none."""
    found: set[str] = set()
    for module in modules:
        code = _COMMENT.sub("", module.source)
        found.update(m.group(1).rstrip("(") for m in _PATTERN.finditer(code))
    return tuple(sorted(found))


class DecisionCache:
    """A bounded LRU of canonical-input bytes → Decision. Not thread-safe (one event loop)."""

    __slots__ = ("_entries", "_max", "hits", "misses")

    def __init__(self, max_entries: int = 10_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._entries: OrderedDict[bytes, Decision] = OrderedDict()
        self._max = max_entries
        self.hits = 0
        self.misses = 0

    def get(self, key: bytes) -> Decision | None:
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return entry

    def put(self, key: bytes, decision: Decision) -> None:
        self._entries[key] = decision
        self._entries.move_to_end(key)
        if len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
