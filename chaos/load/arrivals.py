"""Arrival processes: when requests are due, as offsets from the start of the run.

One method behind a Protocol, one small class per process, an explicit registry:

- ``constant``: evenly spaced, ``1 / rate`` apart (the first at 0).
- ``poisson``: exponential gaps with mean ``1 / rate`` from the injected RNG (bursty, like
  independent users).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Protocol

from governance.registry import did_you_mean

from chaos.load.errors import LoadSpecError


class ArrivalProcess(Protocol):
    def offsets(self, rate_rps: float, duration_s: float, rng: random.Random) -> Iterator[float]:
        """Yield increasing offsets in ``[0, duration_s)``."""
        ...


class ConstantArrivals:
    def offsets(self, rate_rps: float, duration_s: float, rng: random.Random) -> Iterator[float]:
        count = int(rate_rps * duration_s + 1e-9)
        for index in range(count):
            # Multiply rather than accumulate: no drift over millions of arrivals.
            yield index / rate_rps


class PoissonArrivals:
    def offsets(self, rate_rps: float, duration_s: float, rng: random.Random) -> Iterator[float]:
        offset = 0.0
        while True:
            offset += rng.expovariate(rate_rps)
            if offset >= duration_s:
                return
            yield offset


ARRIVALS: dict[str, ArrivalProcess] = {
    "constant": ConstantArrivals(),
    "poisson": PoissonArrivals(),
}


def arrival_process(name: str) -> ArrivalProcess:
    """The arrival process called ``name``.

    Raises:
        LoadSpecError: unknown name (suggests the closest ones).
    """
    try:
        return ARRIVALS[name]
    except KeyError:
        hint = did_you_mean(name, ARRIVALS, n=2)
        raise LoadSpecError(f"unknown arrival process {name!r}{hint}") from None
