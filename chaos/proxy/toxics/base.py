"""The one-method protocol every toxic implements, and how a toxic kind is described.

A toxic is a small object built from its validated attributes. ``pipe`` runs for one direction
of one connection: it reads chunks from the stub, transforms or delays them, writes them on, and
returns when the input ends (``read()`` gives ``None``). It may be cancelled at any ``await``:
that is how the proxy removes or updates a toxic on a live connection, and the stub hands the
unsent part of the chunk in hand to the next stage. Toxicity and direction are not the toxic's
business — :class:`~chaos.proxy.toxics.wrapper.ToxicWrapper` handles both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from chaos.proxy.stub import ToxicStub


class Toxic(Protocol):
    """A fault applied to the bytes of one direction of a connection."""

    async def pipe(self, stub: ToxicStub) -> None: ...


class ToxicAttributes(BaseModel):
    """Base of the attribute models. Names follow Toxiproxy's JSON exactly (so clients work);
    the unit of each field is in its description and in docs/fault-proxy.md.

    Like Toxiproxy's JSON decoding, unknown keys are ignored and missing ones default to 0;
    unlike it, values must be non-negative integers (a string or a float is a 400).
    """

    model_config = ConfigDict(frozen=True, extra="ignore", strict=True)


@dataclass(frozen=True, slots=True)
class ToxicKind:
    """A registered toxic type: its name, attribute model and constructor."""

    name: str
    attributes: type[ToxicAttributes]
    build: type[Toxic] | object
    # Toxiproxy's timeout toxic closes the connection when it is removed instead of letting
    # data resume; a kind says so here rather than with a second protocol method.
    closes_on_removal: bool = False

    def create(self, attributes: ToxicAttributes) -> Toxic:
        return self.build(attributes)  # type: ignore[operator,no-any-return]


class PassThrough:
    """Bytes pass untouched: the ``noop`` toxic, and what a stage runs when the toxicity roll
    says "not this connection"."""

    kind: ClassVar[str] = "noop"

    def __init__(self, attributes: ToxicAttributes | None = None) -> None:
        del attributes  # noop has none

    async def pipe(self, stub: ToxicStub) -> None:
        while (data := await stub.read()) is not None:
            stub.write(data)
