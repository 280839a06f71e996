"""A toxic as the API knows it: name, type, direction, toxicity and validated attributes.

The wrapper holds the concerns every toxic shares, so that no toxic implements them itself:
which direction of the connection it sits on (``stream``), and with what probability it applies
to a given connection (``toxicity``, rolled once per connection — and again when the toxic is
updated — with that connection's seeded generator, like Toxiproxy's per-link roll).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Literal

import pydantic

from chaos.proxy.errors import BAD_REQUEST_BODY, INVALID_STREAM, MISSING_FIELD, ApiError
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
    toxic: Toxic = field(init=False)

    def __post_init__(self) -> None:
        self.toxic = self.kind.create(self.attributes)

    @classmethod
    def from_json(cls, body: Any, registry: ToxicRegistry = REGISTRY) -> ToxicWrapper:
        """Build a toxic from a create request, checking in Toxiproxy's order.

        Raises:
            ApiError: 400 for a bad body, an invalid stream, an unknown type or bad attributes.
        """
        if not isinstance(body, dict):
            raise BAD_REQUEST_BODY.with_detail("expected a JSON object")
        stream = body.get("stream") or "downstream"
        if stream not in STREAMS:
            raise INVALID_STREAM
        type_name = body.get("type")
        if not isinstance(type_name, str) or not type_name:
            raise MISSING_FIELD.with_detail("type")
        name = body.get("name") or f"{type_name}_{stream}"
        if not isinstance(name, str):
            raise BAD_REQUEST_BODY.with_detail("name must be a string")
        kind = registry.get(type_name)
        toxicity = parse_toxicity(body.get("toxicity", 1.0))
        attributes = parse_attributes(kind, body.get("attributes"))
        return cls(name, kind, stream, toxicity, attributes)

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
        toxicity = parse_toxicity(body["toxicity"]) if "toxicity" in body else self.toxicity
        return ToxicWrapper(self.name, self.kind, self.stream, toxicity, attributes)

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
            "stream": self.stream,
            "toxicity": self.toxicity,
        }


__all__ = ["STREAMS", "ApiError", "Stream", "ToxicWrapper", "parse_attributes"]
