"""Fault kinds: network (fault proxy), provider (simulated upstreams), process and GPU.

Each kind is one module behind the one-method :class:`~chaos.faults.base.FaultKind` protocol;
:func:`~chaos.faults.registry.default_registry` lists them all.
"""

from chaos.faults.base import FaultApplyError, FaultContext, FaultKind, FaultParams, Revert
from chaos.faults.registry import FaultKindError, FaultRegistry, default_registry

__all__ = [
    "FaultApplyError",
    "FaultContext",
    "FaultKind",
    "FaultKindError",
    "FaultParams",
    "FaultRegistry",
    "Revert",
    "default_registry",
]
