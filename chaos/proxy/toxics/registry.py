"""The explicit registry of toxic kinds, filled in one place.

>>> REGISTRY.get("latency").name
'latency'
>>> REGISTRY.get("latncy")
Traceback (most recent call last):
...
chaos.proxy.errors.ApiError: invalid toxic type: 'latncy' (did you mean 'latency'?)
"""

from __future__ import annotations

from collections.abc import Iterable

from governance.registry import Registry, did_you_mean

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


class ToxicRegistry(Registry[ToxicKind]):
    """Toxic kinds by name; an unknown name is the Toxiproxy API's 400 "invalid toxic type"."""

    def __init__(self, kinds: Iterable[ToxicKind] = ()) -> None:
        super().__init__("toxic kind", ValueError)
        for kind in kinds:
            self.register(kind.name, kind)

    def get(self, name: str) -> ToxicKind:
        """The kind called ``name``.

        Raises:
            ApiError: 400 "invalid toxic type", naming the closest registered kinds.
        """
        return super().get(name)

    def unknown(self, name: str) -> Exception:
        return INVALID_TOXIC_TYPE.with_detail(f"{name!r}{did_you_mean(name, self.names())}")


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
