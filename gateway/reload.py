"""Config reload: a new config and policy bundle swapped in atomically, or rejected whole.

``govchaos gateway serve`` reloads on **SIGHUP**: it reads the config file again, resolves its
secrets, and hands both to :meth:`gateway.runtime.GatewayRuntime.reload`, which

1. refuses changes that need a restart (:data:`RESTART_ONLY`: the audit log, the HTTP server's
   limits, GPU telemetry, the upstream client) with a located :class:`ConfigError`;
2. compiles the policy bundle into a new engine (a bundle that does not load or compile is
   rejected, located, before anything changes);
3. builds a new router — upstreams, routes, breakers, budgets — carrying over what the old one
   learned: **budget spend** (:meth:`gateway.budget.BudgetBook.carry`: a budget with the same
   scope and name keeps its window) and, for every upstream whose config and the breaker config
   are unchanged, **breaker state, latency EWMA and Retry-After window**
   (:func:`carry_upstream_state`);
4. swaps router, request parser and API keys into the app in one step (no ``await`` between:
   a request starts on the old config or the new one, never a mix), then stops the old router's
   prober and closes the old engine once requests still deciding on it are done.

Anything that fails before step 4 leaves the old config serving; the error is logged with its
file and field. Requests in flight finish on the router they started on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gateway.config import GatewayConfig
from gateway.errors import ConfigError
from governance.errors import Location

# Top-level config fields a running process cannot change: the audit log is open, the HTTP
# server's bounds are in its protocol, GPU telemetry and the upstream client are started.
RESTART_ONLY = ("audit", "limits", "gpu", "upstream_client")

# Seconds an engine replaced by a reload stays open for decisions already asked of it.
RETIRE_AFTER_S = 10.0


def check_reloadable(old: GatewayConfig, new: GatewayConfig, source: Path | None = None) -> None:
    """Raises ConfigError (located at the first such field) if ``new`` changes a field that
    needs a restart."""
    for name in RESTART_ONLY:
        if getattr(old, name) != getattr(new, name):
            raise ConfigError(
                f"changing {name} needs a restart; a reload applies policy, auth, breaker,"
                " hang_detection, upstreams, routes, default_route and budgets",
                location=Location(str(source) if source is not None else None, field=name))


def carry_upstream_state(old: Any, new: Any) -> list[str]:
    """Copy breaker state, latency EWMA, Retry-After window and GPU state from ``old``'s
    upstreams to ``new``'s where the upstream and the breaker config are unchanged; returns the
    names carried over."""
    same_breaker = old.cfg.breaker == new.cfg.breaker
    carried = []
    for name, up in new.upstreams.items():
        before = old.upstreams.get(name)
        if before is None or before.cfg != up.cfg or not same_breaker:
            continue
        up.ewma_ms = before.ewma_ms
        up.skip_until = before.skip_until
        up.gpu_state = before.gpu_state
        up.breaker.adopt(before.breaker)
        new.metrics.breaker_changed(name, up.breaker.state)
        if up.breaker.state != "closed":
            new.prober.wake()  # the new prober restores it, not the old one
        carried.append(name)
    return carried
