"""Open-loop load generation against an OpenAI-compatible gateway.

Public API: :class:`LoadGenerator` (``run``, ``stop``, ``stats``, ``result``), the models
:class:`LoadSpec`, :class:`RouteMix`, :class:`DataClassMix`, :class:`PlannedRequest`,
:class:`LoadRecord`, :class:`LoadStats`, :class:`LoadResult`, and :func:`iter_schedule` (the
deterministic arrival schedule, for tests and reports), :func:`write_records` /
:func:`read_records` (records as JSON Lines).
"""

from __future__ import annotations

from chaos.load.arrivals import ARRIVALS, ArrivalProcess, arrival_process
from chaos.load.errors import LoadError, LoadSpecError
from chaos.load.generator import LoadGenerator
from chaos.load.models import (
    DataClassMix,
    LoadRecord,
    LoadResult,
    LoadSpec,
    LoadStats,
    PlannedRequest,
    RouteMix,
    quantile,
)
from chaos.load.records import read_records, write_records
from chaos.load.schedule import iter_schedule

__all__ = [
    "ARRIVALS",
    "ArrivalProcess",
    "DataClassMix",
    "LoadError",
    "LoadGenerator",
    "LoadRecord",
    "LoadResult",
    "LoadSpec",
    "LoadSpecError",
    "LoadStats",
    "PlannedRequest",
    "RouteMix",
    "arrival_process",
    "iter_schedule",
    "quantile",
    "read_records",
    "write_records",
]
