"""The explicit registry of toxic kinds, filled in one place.

>>> REGISTRY.get("latency").name
'latency'
>>> REGISTRY.get("latncy")
Traceback (most recent call last):
...
chaos.proxy.errors.ApiError: invalid toxic type: 'latncy' (did you mean 'latency'?)
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from chaos.proxy.errors import INVALID_TOXIC_TYPE, ApiError
from chaos.proxy.toxics import (
    bandwidth,
    latency,
    limit_data,
    noop,
    reset_peer,
    slicer,
    slow_close,
)
from chaos.proxy.toxics import timeout as timeout_toxic
from chaos.proxy.toxics.base import ToxicKind


class ToxicRegistry:
    def __init__(self, kinds: Iterable[ToxicKind] = ()) -> None:
        self._kinds: dict[str, ToxicKind] = {}
        for kind in kinds:
            self.register(kind)

    def register(self, kind: ToxicKind) -> None:
        if kind.name in self._kinds:
            raise ValueError(f"toxic kind {kind.name!r} registered twice")
        self._kinds[kind.name] = kind

    def get(self, name: str) -> ToxicKind:
        """The kind called ``name``.

        Raises:
            ApiError: 400 "invalid toxic type", naming the closest registered kinds.
        """
        try:
            return self._kinds[name]
        except KeyError:
            close = difflib.get_close_matches(name, self._kinds, n=3, cutoff=0.5)
            hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
            raise INVALID_TOXIC_TYPE.with_detail(f"{name!r}{hint}") from None

    def names(self) -> list[str]:
        return sorted(self._kinds)

    def __contains__(self, name: object) -> bool:
        return name in self._kinds


REGISTRY = ToxicRegistry(
    [
        latency.KIND,
        bandwidth.KIND,
        slow_close.KIND,
        timeout_toxic.KIND,
        reset_peer.KIND,
        slicer.KIND,
        limit_data.KIND,
        noop.KIND,
    ]
)

__all__ = ["REGISTRY", "ApiError", "ToxicRegistry"]
