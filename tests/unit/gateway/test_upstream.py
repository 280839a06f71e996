from __future__ import annotations

from gateway.config import BreakerConfig, UpstreamConfig
from gateway.upstream import Upstream, rank


def up(name: str, cost: float = 0.0, ewma: float | None = None, gpu: str = "healthy") -> Upstream:
    u = Upstream(UpstreamConfig(name=name, base_url="http://h/v1", model=f"m-{name}",
                                cost_per_1k_tokens=cost), BreakerConfig())
    u.ewma_ms = ewma
    u.gpu_state = gpu
    return u


def names(ups: list[Upstream]) -> list[str]:
    return [u.name for u in ups]


def test_latency_prefers_unmeasured_then_fastest() -> None:
    ups = [up("slow", ewma=50), up("new"), up("fast", ewma=5)]
    assert names(rank(ups, "latency")) == ["new", "fast", "slow"]


def test_cost_and_priority() -> None:
    ups = [up("a", cost=3), up("b", cost=1), up("c", cost=2)]
    assert names(rank(ups, "cost")) == ["b", "c", "a"]
    assert names(rank(ups, "priority")) == ["a", "b", "c"]


def test_degraded_gpu_last_and_preferred_model_first() -> None:
    ups = [up("a", gpu="degraded"), up("b"), up("c")]
    assert names(rank(ups, "priority")) == ["b", "c", "a"]
    assert names(rank(ups, "priority", preferred_model="m-c")) == ["c", "b", "a"]


def test_usable_respects_gpu_loss_and_retry_after() -> None:
    u = up("a")
    assert u.usable(0.0)
    u.skip_for(2.0, now=0.0)
    assert not u.usable(1.0) and u.usable(2.0) and u.retry_in_s(1.0) == 1.0
    u.skip_for(10_000, now=0.0)  # capped
    assert u.usable(301.0)
    u.gpu_state = "lost"
    assert not u.usable(1e6)


def test_ewma() -> None:
    u = up("a")
    u.observe_latency(10)
    u.observe_latency(20)
    assert u.ewma_ms == 12.0
