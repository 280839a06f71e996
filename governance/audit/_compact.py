"""Compact records: repeated parts of events written once per segment and referenced by digest.

A gateway's decision events repeat most of their bytes: the route's candidate list with every
attribute, the (cached) decision result with its per-candidate reasons, the policy bundle
digest. With ``compact=("input.candidates", "result", ...)`` the log moves the value at each of
those dotted paths into a **blob** record, written once per segment, and leaves a reference::

    {"kind":"blob","ref":"3f2a9c…","sha256":"3f2a9c…(64)","value":[...],"seq":11,…}
    {"kind":"decision","input":{"route":"r",…},"refs":{"input.candidates":"3f2a9c…"},"seq":12,…}

Nothing is lost: the blob is a record of the same hash chain, ``sha256`` is the digest of the
value's canonical JSON, and ``ref`` is a prefix of it (16 hex characters, longer in the
unlikely case two values of one segment share that prefix) that is unique within its segment.
A reader (:func:`governance.audit.iter_events`) puts each value back at its path; the verifier
checks every digest, that every ref names a blob written earlier in the same segment, and that
no ref is defined twice. Blobs never cross a segment boundary, so each segment resolves on its
own (retention may delete older segments).

>>> table = Interner((("input", "candidates"),))
>>> record = {"kind": "decision", "input": {"route": "r", "candidates": [{"id": "m"}]}}
>>> blobs = table.compact(record)
>>> record["refs"] == {"input.candidates": blobs[0]["ref"]}, "candidates" in record["input"]
(True, False)
>>> table.compact({"kind": "decision", "input": {"candidates": [{"id": "m"}]}})  # known: no blob
[]
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from governance.audit._records import BLOB_KIND

REF_CHARS = 16
# Distinct values per segment beyond which new ones stay inline (bounded memory for a caller
# whose "repeated" part turns out not to repeat).
MAX_BLOBS_PER_SEGMENT = 4096
_SORT = orjson.OPT_SORT_KEYS


def parse_paths(paths: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """``("input.candidates", "result")`` → ``(("input", "candidates"), ("result",))``.

    Raises ``ValueError`` for an empty path or segment."""
    out = []
    for path in paths:
        parts = tuple(path.split("."))
        if not path or any(not p for p in parts):
            raise ValueError(f"compact path {path!r} is not a dotted field path")
        out.append(parts)
    return tuple(out)


def value_digest(value: Any) -> str:
    """The hex sha256 of ``value``'s canonical JSON (sorted keys, no whitespace)."""
    return hashlib.sha256(orjson.dumps(value, option=_SORT)).hexdigest()


class Interner:
    """The blob table of the segment being written. Not thread-safe: the appending loop owns it."""

    __slots__ = ("paths", "_by_bytes", "_by_ref")

    def __init__(self, paths: tuple[tuple[str, ...], ...]) -> None:
        self.paths = paths
        self._by_bytes: dict[bytes, str] = {}  # canonical JSON → ref
        self._by_ref: dict[str, str] = {}  # ref → full sha256

    def seed(self, blobs: dict[str, Any]) -> None:
        """Know the blobs already written (ref → value) to the file being continued: a
        reopened single-file log refers to them instead of defining their refs again (the
        verifier rejects a ref defined twice)."""
        for ref, value in blobs.items():
            raw = orjson.dumps(value, option=_SORT)
            self._by_bytes.setdefault(raw, ref)
            self._by_ref[ref] = hashlib.sha256(raw).hexdigest()

    def reset(self) -> None:
        """A new segment: every value is written again the first time it is used."""
        self._by_bytes.clear()
        self._by_ref.clear()

    def compact(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        """Move each configured path's value out of ``record`` (which the caller owns; nested
        dicts on the way are copied, never mutated) into ``record["refs"]``; return the blob
        events (without chain fields) that must be written before ``record``.

        Only dicts and lists are compacted (a scalar costs less than its reference).
        Raises ``TypeError`` for a value orjson cannot serialize.
        """
        refs: dict[str, str] | None = None
        blobs: list[dict[str, Any]] = []
        for path in self.paths:
            parent: Any = record
            for part in path[:-1]:
                parent = parent.get(part) if type(parent) is dict else None
                if parent is None:
                    break
            if type(parent) is not dict:
                continue
            leaf = path[-1]
            value = parent.get(leaf)
            if type(value) is not dict and type(value) is not list:
                continue
            ref = self._ref_for(value, blobs)
            if ref is None:
                continue
            # copy the containers on the way down: the event's dicts belong to the caller
            node = record
            for part in path[:-1]:
                child = dict(node[part])
                node[part] = child
                node = child
            del node[leaf]
            if refs is None:
                refs = {}
            refs[".".join(path)] = ref
        if refs is not None:
            record["refs"] = refs
        return blobs

    def _ref_for(self, value: Any, blobs: list[dict[str, Any]]) -> str | None:
        # Serialized every time (1-2 µs): caching by object identity would be faster but
        # would record a stale value for a caller that mutates and re-sends a dict.
        raw = orjson.dumps(value, option=_SORT)
        ref = self._by_bytes.get(raw)
        if ref is None:
            if len(self._by_bytes) >= MAX_BLOBS_PER_SEGMENT:
                return None
            digest = hashlib.sha256(raw).hexdigest()
            ref = digest[:REF_CHARS]
            if self._by_ref.get(ref, digest) != digest:
                ref = digest  # prefix collision within the segment: use the whole digest
            self._by_bytes[raw] = ref
            self._by_ref[ref] = digest
            blobs.append({"kind": BLOB_KIND, "ref": ref, "sha256": digest,
                          "value": orjson.loads(raw)})
        return ref


def resolve(record: dict[str, Any], table: dict[str, Any]) -> dict[str, Any]:
    """``record`` with each ``refs`` entry put back at its path (a copy; ``record`` and the
    table's values are shared, not mutated). Raises ``KeyError`` for an unknown ref."""
    refs = record.get("refs")
    if not refs:
        return record
    out = dict(record)
    del out["refs"]
    for path, ref in refs.items():
        value = table[ref]
        parts = path.split(".")
        node = out
        for part in parts[:-1]:
            child = node.get(part)
            child = dict(child) if type(child) is dict else {}
            node[part] = child
            node = child
        node[parts[-1]] = value
    return out
