"""The explicit registry of provider fault kinds.

>>> from chaos.providers.faults import FAULTS
>>> FAULTS.build("error_500", {"rate": 0.5}).kind
'error_500'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from governance.registry import Registry

from chaos.providers.errors import FaultParamsError, UnknownFaultError
from chaos.providers.faults.base import ActiveFault, FaultBehaviour


@dataclass(frozen=True, slots=True)
class UpstreamFaultKind:
    """A fault kind: its name, its params model, how to build a behaviour, one-line summary."""

    name: str
    params: type[BaseModel]
    build: Callable[[Any], FaultBehaviour]
    summary: str


class UpstreamFaultRegistry:
    """Fault kinds by name. Filled in one place (:mod:`chaos.providers.faults`)."""

    def __init__(self) -> None:
        self._kinds: Registry[UpstreamFaultKind] = Registry("provider fault kind", UnknownFaultError)

    def register(self, kind: UpstreamFaultKind) -> None:
        """Add a kind. Raises ``ValueError`` if the name is taken (a programming error)."""
        self._kinds.register(kind.name, kind)

    def names(self) -> tuple[str, ...]:
        return self._kinds.names()

    def get(self, name: str) -> UpstreamFaultKind:
        """The kind called ``name``.

        Raises:
            UnknownFaultError: no such kind; the message suggests the closest names.
        """
        return self._kinds.get(name)

    def build(self, name: str, params: Mapping[str, Any] | None = None) -> ActiveFault:
        """Validate ``params`` (``rate`` plus the kind's own) and build the active fault.

        Raises:
            UnknownFaultError: ``name`` is not registered.
            FaultParamsError: a parameter is missing, unknown or out of range (names the field).
        """
        kind = self.get(name)
        values = dict(params or {})
        rate = values.pop("rate", 1.0)
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise FaultParamsError(f"fault {name}: rate must be a number in [0, 1], got {rate!r}")
        try:
            parsed = kind.params.model_validate(values)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(part) for part in first["loc"]) or "params"
            raise FaultParamsError(f"fault {name}: {field}: {first['msg']}") from exc
        return ActiveFault(
            kind=name, rate=float(rate), params=parsed, behaviour=kind.build(parsed)
        )
