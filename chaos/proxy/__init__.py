"""Embedded Toxiproxy-compatible fault proxy (see docs/fault-proxy.md).

Public names: :class:`FaultProxyServer` (the embedded server), :class:`ProxyControl` (async
client for it or a real Toxiproxy), :func:`fault_proxy` (either one, as the runner wants it),
:func:`measure_overhead` (benchmark hook), and the error classes.
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
from chaos.proxy.server import FaultProxyServer

__all__ = [
    "ApiError",
    "FaultProxyError",
    "FaultProxyServer",
    "ProxyBadRequestError",
    "ProxyConflictError",
    "ProxyControlError",
    "ProxyNotFoundError",
    "ProxyUnreachableError",
]
