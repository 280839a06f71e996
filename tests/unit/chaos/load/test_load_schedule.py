"""The arrival schedule: reproducible from the seed, right rate, right mix."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chaos.load import DataClassMix, LoadSpec, LoadSpecError, RouteMix, arrival_process, iter_schedule

MIX = (
    RouteMix(
        route="claims-triage",
        weight=3,
        tenant="acme-health",
        api_key="k1",
        region="eu",
        data_classes=(
            DataClassMix(classes=("pii", "phi"), weight=1),
            DataClassMix(classes=("internal",), weight=3),
        ),
    ),
    RouteMix(route="customer-chat", weight=1, tenant="globex-retail", api_key="k2"),
)


def _spec(**overrides) -> LoadSpec:
    fields = {"rate_rps": 200, "duration_s": 10, "seed": 42, "mix": MIX, "stream_share": 0.25}
    fields.update(overrides)
    return LoadSpec(**fields)


def test_same_seed_same_schedule_other_seed_other_mix() -> None:
    first = list(iter_schedule(_spec(), run_id="r"))
    assert first == list(iter_schedule(_spec(), run_id="r"))
    other = list(iter_schedule(_spec(seed=43), run_id="r"))
    assert [p.route for p in other] != [p.route for p in first]


def test_constant_arrivals_are_evenly_spaced() -> None:
    planned = list(iter_schedule(_spec(), run_id="r"))
    assert len(planned) == 2000
    assert planned[0].offset_s == 0.0
    assert planned[1].offset_s == pytest.approx(0.005)
    assert planned[-1].offset_s == pytest.approx(9.995)
    assert [p.request_id for p in planned[:2]] == ["r-0", "r-1"]


def test_poisson_arrivals_are_seeded_with_the_right_mean() -> None:
    spec = _spec(arrival="poisson", rate_rps=500, duration_s=20)
    planned = list(iter_schedule(spec, run_id="r"))
    assert 9500 <= len(planned) <= 10500
    assert planned == list(iter_schedule(spec, run_id="r"))
    offsets = [p.offset_s for p in planned]
    assert offsets == sorted(offsets) and offsets[-1] < 20


def test_poisson_does_not_move_the_mix() -> None:
    # Separate RNG streams: the mix only depends on the seed, not on the arrival process.
    constant = [p.route for p in iter_schedule(_spec(), run_id="r")][:500]
    poisson = [p.route for p in iter_schedule(_spec(arrival="poisson"), run_id="r")][:500]
    assert constant == poisson


def test_mix_weights_and_data_classes_and_stream_share() -> None:
    planned = list(iter_schedule(_spec(), run_id="r"))
    claims = [p for p in planned if p.route == "claims-triage"]
    assert 0.70 <= len(claims) / len(planned) <= 0.80  # weight 3 of 4
    pii = sum(1 for p in claims if p.data_classes == ("pii", "phi"))
    assert 0.20 <= pii / len(claims) <= 0.30  # weight 1 of 4
    assert all(p.tenant == "acme-health" and p.region == "eu" for p in claims)
    streams = sum(p.stream for p in planned) / len(planned)
    assert 0.20 <= streams <= 0.30


def test_per_entry_stream_share_overrides() -> None:
    mix = (MIX[0].model_copy(update={"stream_share": 1.0}), MIX[1])
    planned = list(iter_schedule(_spec(mix=mix, stream_share=0.0), run_id="r"))
    assert all(p.stream == (p.route == "claims-triage") for p in planned)


def test_unknown_arrival_process_suggests() -> None:
    with pytest.raises(LoadSpecError, match="did you mean 'poisson'"):
        arrival_process("poison")


def test_api_key_never_shows_in_repr_or_dump() -> None:
    spec = _spec()
    assert "k1" not in repr(spec) and "k1" not in spec.model_dump_json()


@settings(max_examples=30, deadline=None)
@given(rate=st.floats(0.5, 2000), duration=st.floats(0.1, 5), seed=st.integers(0, 2**32))
def test_constant_schedule_count_and_bounds(rate: float, duration: float, seed: int) -> None:
    planned = list(iter_schedule(_spec(rate_rps=rate, duration_s=duration, seed=seed), run_id="x"))
    assert abs(len(planned) - rate * duration) <= 1
    assert all(0 <= p.offset_s < duration for p in planned)
