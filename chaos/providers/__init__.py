"""Simulated OpenAI-compatible upstreams with controllable faults and a ground-truth log.

Public API:

- :class:`SimulatedUpstream` - one upstream (real aiohttp server on 127.0.0.1): ``start``,
  ``stop``, ``kill``, ``restart``, ``set_fault``, ``clear_fault``, ``request_log``.
- :class:`UpstreamFleet` - several upstreams in this process.
- :class:`FleetProcess` / :class:`FleetControl` - a fleet in a child process, driven over HTTP.
- :data:`FAULTS` - the registry of fault kinds (see :mod:`chaos.providers.faults`).
- Models: :class:`MockUpstreamSpec`, :class:`LatencyProfile`, :class:`FaultSpec`,
  :class:`FleetSpec`, :class:`RequestLogEntry`, :class:`UsageEntry`, :class:`UpstreamInfo`,
  :class:`FleetReady`.
- :func:`read_request_log` / :func:`read_request_logs` - read one JSONL request log / a
  fleet's log directory, merged in arrival order; :func:`read_usage_log` /
  :func:`usage_log_path` - an upstream's usage log (tokens it answered with).
"""

from __future__ import annotations

from chaos.providers.errors import (
    FaultParamsError,
    FleetProcessError,
    FleetSpecError,
    ProviderError,
    UnknownFaultError,
    UnknownUpstreamError,
)
from chaos.providers.faults import FAULTS, UpstreamFaultRegistry
from chaos.providers.fleet import UpstreamFleet
from chaos.providers.fleet_process import FleetControl, FleetProcess
from chaos.providers.models import (
    FaultSpec,
    FleetReady,
    FleetSpec,
    LatencyProfile,
    MockUpstreamSpec,
    RequestLogEntry,
    UpstreamInfo,
    UsageEntry,
)
from chaos.providers.request_log import (
    RequestLog, read_request_log, read_request_logs, read_usage_log, usage_log_path,
)
from chaos.providers.upstream import REQUEST_ID_HEADER, SimulatedUpstream

__all__ = [
    "FAULTS",
    "REQUEST_ID_HEADER",
    "FaultParamsError",
    "FaultSpec",
    "FleetControl",
    "FleetProcess",
    "FleetProcessError",
    "FleetReady",
    "FleetSpec",
    "FleetSpecError",
    "LatencyProfile",
    "MockUpstreamSpec",
    "ProviderError",
    "RequestLog",
    "RequestLogEntry",
    "SimulatedUpstream",
    "UnknownFaultError",
    "UnknownUpstreamError",
    "UpstreamFaultRegistry",
    "UpstreamFleet",
    "UpstreamInfo",
    "UsageEntry",
    "read_request_log",
    "read_request_logs",
    "read_usage_log",
    "usage_log_path",
]
