"""Assembles a running gateway from its config: policy engine, audit log, upstream client,
GPU health monitor, router and ASGI app — in one place, torn down in reverse order.

    async with GatewayRuntime.start(cfg, secrets) as rt:
        ... serve rt.app ...

Tests pass their own ``engine`` / ``audit`` / ``telemetry`` to run without the shipped policy
bundle or an audit file.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from gateway.app import GatewayApp
from gateway.auth import KeyStore
from gateway.client import new_upstream_client
from gateway.config import GatewayConfig, ResolvedSecrets
from gateway.errors import StartupError
from gateway.metrics import GatewayMetrics
from gateway.router import AuditSink, PolicyEngine, Router
from governance.errors import GovchaosError


# Embedded engines bound their own evaluation: they compile and evaluate in child processes and
# answer policy_timeout at `policy.decision_timeout_ms` (governance.engine.isolation), which a
# timer in the router could not do for native code holding the GIL.
EMBEDDED_ENGINES = frozenset({"regorus", "regopy", "opa-go"})


def build_engine(cfg: GatewayConfig) -> PolicyEngine:
    """The configured policy engine (``regorus`` default, ``regopy``, ``opa-go``, ``opa``).

    Raises:
        GovchaosError: unknown engine kind, bundle does not load/compile (from governance).
        StartupError: the engine's package is missing.
    """
    from governance.engine import create_engine, load_bundle

    kind = cfg.policy.engine
    try:
        if kind == "opa":
            if not cfg.policy.opa_url:
                raise StartupError("policy.engine is 'opa' but policy.opa_url is not set")
            return create_engine("opa", url=cfg.policy.opa_url,
                                 timeout_s=cfg.policy.decision_timeout_ms / 1000.0)
        return create_engine(kind, load_bundle(cfg.policy.bundle),
                             decision_timeout_ms=cfg.policy.decision_timeout_ms)
    except ImportError as exc:
        raise StartupError(f"policy engine {kind!r} is not available: {exc}") from exc


async def open_audit(cfg: GatewayConfig) -> Any:
    """The hash-chained audit log at ``audit.path`` (masking ``audit.mask_fields``)."""
    from governance.audit import AuditLog, MaskingRules

    return await AuditLog.open(
        cfg.audit.path,
        mask=MaskingRules(fields=cfg.audit.mask_fields),
        group_commit_ms=cfg.audit.group_commit_ms,
    )


class GatewayRuntime:
    def __init__(self, app: GatewayApp, router: Router) -> None:
        self.app = app
        self.router = router
        self.monitor: Any = None

    @classmethod
    @contextlib.asynccontextmanager
    async def start(
        cls,
        cfg: GatewayConfig,
        secrets: ResolvedSecrets,
        *,
        engine: PolicyEngine | None = None,
        audit: AuditSink | None = None,
        telemetry: Any = None,
    ) -> AsyncIterator["GatewayRuntime"]:
        """Start everything; on exit stop the monitor, close the upstream client, flush the audit log.

        Raises:
            GovchaosError: the engine, audit log or GPU telemetry could not start.
        """
        async with contextlib.AsyncExitStack() as stack:
            if engine is None:
                engine = build_engine(cfg)
                close = getattr(engine, "close", None)
                if close is not None:
                    stack.push_async_callback(close)
            if audit is None:
                audit_log = await open_audit(cfg)
                stack.push_async_callback(audit_log.close)
                audit = audit_log
            client = new_upstream_client(cfg.upstream_client)
            stack.push_async_callback(client.close)
            router = Router(cfg, engine=engine, audit=audit, client=client, secrets=secrets,
                            metrics=GatewayMetrics(),
                            enforce_decision_timeout=cfg.policy.engine not in EMBEDDED_ENGINES)
            router.start()
            stack.push_async_callback(router.close)
            app = GatewayApp(cfg, router, KeyStore(secrets.api_keys))
            rt = cls(app, router)
            devices = sorted({u.gpu.device for u in cfg.upstreams if u.gpu is not None})
            if devices:
                rt.monitor = await _start_monitor(cfg, router, devices, telemetry, audit, stack)
                stack.push_async_callback(rt.monitor.stop)
            app.ready = True
            try:
                yield rt
            finally:
                app.ready = False


async def _start_monitor(cfg: GatewayConfig, router: Router, devices: list[int], telemetry: Any,
                         audit: AuditSink, stack: contextlib.AsyncExitStack) -> Any:
    """Start the GPU health monitor. A telemetry source built here (not one a caller passed
    in) is closed on shutdown — after the monitor has stopped (NVML handles, file watchers)."""
    from gateway.gpu import GpuHealthMonitor, build_telemetry, close_telemetry

    try:
        if telemetry is None:
            telemetry = build_telemetry(cfg.gpu)
            stack.callback(close_telemetry, telemetry)
        monitor = GpuHealthMonitor(telemetry, devices, poll_ms=int(cfg.gpu.poll_ms))
    except GovchaosError:
        raise
    except Exception as exc:  # a source's own failure, translated at the boundary
        raise StartupError(f"GPU telemetry could not start: {exc}") from exc

    def on_change(old: Any, new: Any) -> None:
        # Runs inline in the monitor's polling task: the upstream leaves rotation before the
        # next request is ranked.
        names = router.set_gpu_state(new.device, new.state)
        with contextlib.suppress(Exception):
            audit.append_nowait({
                "kind": "gpu", "device": new.device, "state": new.state,
                "previous": old.state if old is not None else None, "xid": new.xid,
                "reason": new.reason, "source": new.source, "upstreams": names,
            })

    monitor.subscribe(on_change)
    await monitor.start()
    for device, health in monitor.states().items():
        router.set_gpu_state(device, health.state)
    return monitor
