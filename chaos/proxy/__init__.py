"""Embedded Toxiproxy-compatible fault proxy (see docs/fault-proxy.md).

Public names: :class:`FaultProxyServer` (the embedded server), :class:`ProxyControl` (async
client for it or a real Toxiproxy), :func:`fault_proxy` (either one, as the runner wants it),
:func:`chaos.proxy.bench.measure_overhead` (benchmark hook), and the error classes.
"""

from chaos.proxy.errors import (
    ApiError,
    FaultProxyError,
    ProxyBadRequestError,
    ProxyConflictError,
    ProxyControlError,
    ProxyNotFoundError,
    ProxyUnreachableError,
)
from chaos.proxy.control import (
    ProxyControl,
    ProxyInfo,
    ProxySpec,
    ToxicInfo,
    ToxicSpec,
    fault_proxy,
)
from chaos.proxy.server import FaultProxyServer

__all__ = [
    "ApiError",
    "ProxyControl",
    "ProxyInfo",
    "ProxySpec",
    "ToxicInfo",
    "ToxicSpec",
    "fault_proxy",
    "FaultProxyError",
    "FaultProxyServer",
    "ProxyBadRequestError",
    "ProxyConflictError",
    "ProxyControlError",
    "ProxyNotFoundError",
    "ProxyUnreachableError",
]
