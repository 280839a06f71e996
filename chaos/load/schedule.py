"""The arrival schedule: which request is due when, drawn deterministically from the seed.

Two independent RNG streams are derived from the seed, one for arrival times and one for the
mix (route, data classes, stream), so changing the mix does not move the arrival times.

>>> from chaos.load.models import LoadSpec, RouteMix
>>> spec = LoadSpec(rate_rps=10, duration_s=1, seed=1,
...                 mix=[RouteMix(route="customer-chat", tenant="globex-retail", api_key="k")])
>>> [p.request_id for p in iter_schedule(spec, run_id="r")][:2]
['r-0', 'r-1']
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator

from chaos.load.arrivals import arrival_process
from chaos.load.models import LoadSpec, PlannedRequest


def iter_schedule(spec: LoadSpec, *, run_id: str) -> Iterator[PlannedRequest]:
    """Yield the run's planned requests in time order (lazily: long runs stay small in memory).

    Raises:
        LoadSpecError: the arrival process is unknown.
    """
    arrivals_rng = random.Random(f"{spec.seed}:arrivals")
    mix_rng = random.Random(f"{spec.seed}:mix")
    process = arrival_process(spec.arrival)
    mix_weights = list(itertools.accumulate(entry.weight for entry in spec.mix))
    class_weights = [
        list(itertools.accumulate(choice.weight for choice in entry.data_classes))
        for entry in spec.mix
    ]
    mix_indices = range(len(spec.mix))
    offsets = process.offsets(spec.rate_rps, spec.duration_s, arrivals_rng)
    for index, offset in enumerate(offsets):
        mix_index = mix_rng.choices(mix_indices, cum_weights=mix_weights)[0]
        entry = spec.mix[mix_index]
        choices = entry.data_classes
        choice = choices[
            mix_rng.choices(range(len(choices)), cum_weights=class_weights[mix_index])[0]
        ]
        share = spec.stream_share if entry.stream_share is None else entry.stream_share
        # Always draw, so one entry's stream share does not shift the others' draws.
        stream = mix_rng.random() < share
        yield PlannedRequest(
            index=index,
            request_id=f"{run_id}-{index}",
            offset_s=offset,
            mix_index=mix_index,
            route=entry.route,
            tenant=entry.tenant,
            data_classes=choice.classes,
            region=entry.region,
            stream=stream,
        )
