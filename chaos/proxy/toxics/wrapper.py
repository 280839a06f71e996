"""A toxic as the API knows it: name, type, direction, toxicity and validated attributes.

The wrapper holds the concerns every toxic shares, so that no toxic implements them itself:
which direction of the connection it sits on (``stream``), and with what probability it applies
to a given connection (``toxicity``, rolled once per connection — and again when the toxic is
updated — with that connection's seeded generator, like Toxiproxy's per-link roll).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import pydantic

from chaos.proxy.errors import (
    BAD_REQUEST_BODY,
    INVALID_STREAM,
    INVALID_TOXIC_TYPE,
    TOXIC_ALREADY_EXISTS,
    ApiError,
)
from chaos.proxy.toxics.base import PassThrough, Toxic, ToxicAttributes, ToxicKind
from chaos.proxy.toxics.registry import REGISTRY, ToxicRegistry

Stream = Literal["upstream", "downstream"]
STREAMS: tuple[Stream, ...] = ("upstream", "downstream")
_PASS_THROUGH = PassThrough()


def _validation_detail(exc: pydantic.ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "attributes"
        parts.append(f"attributes.{where}: {err['msg']}")
    return "; ".join(parts)


def parse_attributes(kind: ToxicKind, raw: Any) -> ToxicAttributes:
    """Validate ``raw`` against the kind's attribute model.

    Raises:
        ApiError: 400 "bad request body: attributes.<field>: <reason>".
    """
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise BAD_REQUEST_BODY.with_detail("attributes must be an object")
    try:
        return kind.attributes.model_validate(raw)
    except pydantic.ValidationError as exc:
        raise BAD_REQUEST_BODY.with_detail(_validation_detail(exc)) from exc


def parse_toxicity(raw: Any) -> float:
    """Raises: ApiError 400 unless ``raw`` is a number in [0, 1]."""
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise BAD_REQUEST_BODY.with_detail("toxicity must be a number")
    if not 0.0 <= float(raw) <= 1.0:
        raise BAD_REQUEST_BODY.with_detail("toxicity must be between 0 and 1")
    return float(raw)


@dataclass(slots=True)
class ToxicWrapper:
    name: str
    kind: ToxicKind
    stream: Stream
    toxicity: float
    attributes: ToxicAttributes
    # ``stream`` as the client wrote it: Toxiproxy matches it case-insensitively but echoes
    # (and names default toxics after) the text it was given, e.g. "UPSTREAM".
    stream_text: str = ""
    toxic: Toxic = field(init=False)

    def __post_init__(self) -> None:
        self.toxic = self.kind.create(self.attributes)

    @classmethod
    def from_json(
        cls,
        body: Any,
        registry: ToxicRegistry = REGISTRY,
        exists: Callable[[str], bool] = lambda name: False,
    ) -> ToxicWrapper:
        """Build a toxic from a create request, checking in Toxiproxy's order: the body's
        field types, the stream, the type, then a duplicate ``name`` (``exists``), and only
        then the attributes (so a duplicate name is a 409 even when its attributes are bad).

        An absent or ``null`` ``stream`` is ``downstream`` and an absent or ``null``
        ``toxicity`` is 1, as in Toxiproxy; ``stream: ""`` is invalid, as in Toxiproxy.

        Raises:
            ApiError: 400 for a bad body, an invalid stream, an unknown type or bad
                attributes; 409 when ``exists(name)``.
        """
        if not isinstance(body, dict):
            raise BAD_REQUEST_BODY.with_detail("expected a JSON object")
        for key in ("name", "type", "stream"):
            if body.get(key) is not None and not isinstance(body[key], str):
                raise BAD_REQUEST_BODY.with_detail(f"{key} must be a string")
        raw_toxicity = body.get("toxicity")
        toxicity = 1.0 if raw_toxicity is None else parse_toxicity(raw_toxicity)
        stream_text = body.get("stream")
        if stream_text is None:
            stream_text = "downstream"
        stream = stream_text.lower()
        if stream not in STREAMS:
            raise INVALID_STREAM
        type_name = body.get("type") or ""
        name = body.get("name") or f"{type_name}_{stream_text}"
        if not type_name:
            raise INVALID_TOXIC_TYPE.with_detail("no type given")
        kind = registry.get(type_name)
        if exists(name):
            raise TOXIC_ALREADY_EXISTS
        attributes = parse_attributes(kind, body.get("attributes"))
        return cls(name, kind, stream, toxicity, attributes, stream_text)  # type: ignore[arg-type]

    def updated(self, body: Any) -> ToxicWrapper:
        """A copy with ``attributes`` merged over the current ones and ``toxicity`` replaced.

        Raises:
            ApiError: 400 for a bad body or bad attributes.
        """
        if not isinstance(body, dict):
            raise BAD_REQUEST_BODY.with_detail("expected a JSON object")
        raw = body.get("attributes") or {}
        if not isinstance(raw, dict):
            raise BAD_REQUEST_BODY.with_detail("attributes must be an object")
        merged = {**self.attributes.model_dump(), **raw}
        attributes = parse_attributes(self.kind, merged)
        raw_toxicity = body.get("toxicity")  # absent or null: unchanged, as in Toxiproxy
        toxicity = self.toxicity if raw_toxicity is None else parse_toxicity(raw_toxicity)
        return ToxicWrapper(self.name, self.kind, self.stream, toxicity, attributes,
                            self.stream_text)

    def roll(self, rng: random.Random) -> Toxic:
        """The toxic to run on one connection: itself with probability ``toxicity``."""
        if self.toxicity >= 1.0 or rng.random() < self.toxicity:
            return self.toxic
        return _PASS_THROUGH

    def to_json(self) -> dict[str, Any]:
        return {
            "attributes": self.attributes.model_dump(),
            "name": self.name,
            "type": self.kind.name,
            "stream": self.stream_text or self.stream,
            "toxicity": self.toxicity,
        }


__all__ = ["STREAMS", "ApiError", "Stream", "ToxicWrapper", "parse_attributes"]
