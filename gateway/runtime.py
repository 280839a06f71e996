"""Assembles a running gateway from its config: policy engine, audit log, upstream client,
GPU health monitor, router and ASGI app — in one place, torn down in reverse order.

    async with GatewayRuntime.start(cfg, secrets) as rt:
        ... serve rt.app ...

Tests pass their own ``engine`` / ``audit`` / ``telemetry`` to run without the shipped policy
bundle or an audit file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from gateway.app import GatewayApp
from gateway.auth import KeyStore
from gateway.config import GatewayConfig
from gateway.credentials import ResolvedSecrets
from gateway.errors import StartupError
from gateway.metrics import GatewayMetrics
from gateway.ledger import AuditSink
from gateway.reload import RETIRE_AFTER_S, carry_upstream_state, check_reloadable
from gateway.router import Router
from gateway.transport import new_transport
from governance.engine.protocol import PolicyEngine
from governance.errors import GovchaosError

logger = logging.getLogger("govchaos.gateway")


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


# What a decision record repeats from request to request: written once per segment.
COMPACT_PATHS = ("input.candidates", "result", "policy")


class _AuditMetrics:
    """Turns the audit log's state changes (from its threads) into metrics and shipping."""

    def __init__(self, metrics: GatewayMetrics) -> None:
        self.metrics = metrics
        self.shipper: Any = None

    def unavailable(self, error: Any) -> None:
        self.metrics.audit_available.set(0)
        self.metrics.audit_failures.labels(getattr(error, "errno_name", "") or "unknown").inc()

    def available(self, outage_s: float) -> None:
        self.metrics.audit_available.set(1)

    def sealed(self, manifest: Any) -> None:
        self.metrics.audit_sealed.inc()
        if self.shipper is not None:
            self.shipper.wake()


async def open_audit(cfg: GatewayConfig, secrets: ResolvedSecrets | None = None,
                     listener: Any = None) -> Any:
    """The hash-chained audit log: ``audit.path`` (one file) or ``audit.directory`` (segments).

    Raises:
        StartupError: ``compression: zstd`` without the zstandard package.
        GovchaosError: the log cannot be opened or does not verify (from governance).
    """
    from governance.audit import AuditLog, MaskingRules, SegmentPolicy

    a = cfg.audit
    key = secrets.audit_mask_key if secrets is not None else None
    mask = MaskingRules(fields=a.mask_fields,
                        key=key.get_secret_value().encode() if key is not None else None)
    compact = COMPACT_PATHS if a.compact else ()
    segments = None
    if a.directory is not None:
        if a.compression == "zstd":
            try:
                import zstandard  # noqa: F401
            except ImportError as exc:
                raise StartupError("audit.compression is zstd but the zstandard package is not"
                                   " installed (pip install 'govchaos[zstd]')") from exc
        segments = SegmentPolicy(max_segment_bytes=a.max_segment_bytes,
                                 max_segment_age_s=a.max_segment_age_s, compression=a.compression)
    return await AuditLog.open(a.location, mask=mask, group_commit_ms=a.group_commit_ms,
                               segments=segments, compact=compact, retry_ms=a.retry_ms,
                               listener=listener)


def build_sinks(cfg: GatewayConfig, secrets: ResolvedSecrets | None) -> list[Any]:
    """The configured audit sinks, named ``<kind>`` or ``<kind>-<n>`` when a kind repeats."""
    from governance.audit.sinks import DirectorySink, OtlpLogSink, S3Sink

    kinds = [s.kind for s in cfg.audit.sinks]
    sinks: list[Any] = []
    for i, sc in enumerate(cfg.audit.sinks):
        name = sc.kind if kinds.count(sc.kind) == 1 else f"{sc.kind}-{i}"
        values = {k: v.get_secret_value()
                  for k, v in (secrets.audit_sinks.get(i, {}) if secrets else {}).items()}
        if sc.kind == "directory":
            sinks.append(DirectorySink(sc.path, name=name))
        elif sc.kind == "s3":
            sinks.append(S3Sink(sc.bucket, prefix=sc.prefix, endpoint_url=sc.endpoint_url,
                                region=sc.region, access_key_id=values.get("access_key_env"),
                                secret_access_key=values.get("secret_key_env"), name=name))
        else:
            headers = dict(item.split("=", 1) for item in
                           values.get("headers_env", "").split(",") if "=" in item)
            sinks.append(OtlpLogSink(sc.endpoint, headers=headers, timeout_s=sc.timeout_s,
                                     batch_records=sc.batch_records, name=name))
    return sinks


class GatewayRuntime:
    def __init__(self, app: GatewayApp, router: Router) -> None:
        self.app = app
        self.router = router
        self.monitor: Any = None
        # what a reload (gateway.reload) reuses or replaces
        self.cfg: GatewayConfig = router.cfg
        self.engine: Any = None
        self.owns_engine = False  # built here from cfg (a reload builds the next one)
        self.audit: Any = None
        self.transport: Any = None
        self._engines: list[Any] = []  # engines built here, not yet closed
        self._retiring: set[asyncio.Task[None]] = set()
        self._reload_lock = asyncio.Lock()

    async def reload(self, cfg: GatewayConfig, secrets: ResolvedSecrets, *,
                     source: Path | None = None) -> list[str]:
        """Swap in ``cfg`` (and, with an engine built here, its policy bundle) atomically;
        returns the upstreams whose breaker state was carried over (gateway.reload).

        Raises:
            ConfigError: ``cfg`` changes a field that needs a restart (located).
            GovchaosError: the new policy bundle does not load or compile (located).
            Nothing has changed when it raises: the old config keeps serving.
        """
        async with self._reload_lock:
            check_reloadable(self.cfg, cfg, source)
            engine = self.engine
            if self.owns_engine:
                engine = build_engine(cfg)
            try:
                router = Router(cfg, engine=engine, audit=self.audit, transport=self.transport,
                                secrets=secrets, metrics=self.router.metrics,
                                enforce_decision_timeout=cfg.policy.engine not in EMBEDDED_ENGINES,
                                budgets=self.router.budgets)
                carried = carry_upstream_state(self.router, router)
                keys = KeyStore(secrets.api_keys)
            except BaseException:
                if engine is not self.engine:
                    await _close_engine(engine)
                raise
            router.start()
            if self.monitor is not None:
                for device, health in self.monitor.states().items():
                    router.set_gpu_state(device, health.state)
            old_router, old_engine = self.router, self.engine
            # the swap: no await from here to the end of install
            self.app.install(cfg, router, keys)
            self.router, self.engine, self.cfg = router, engine, cfg
            if engine is not old_engine:
                self._engines.append(engine)
                self._retire(old_engine)
            await old_router.close()
            return carried

    def _retire(self, engine: Any) -> None:
        """Close a replaced engine once decisions already asked of it have had time to end."""
        async def later() -> None:
            await asyncio.sleep(RETIRE_AFTER_S)
            if engine in self._engines:
                self._engines.remove(engine)
                await _close_engine(engine)

        task = asyncio.create_task(later())
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def _close_engines(self) -> None:
        for task in list(self._retiring):
            task.cancel()
        await asyncio.gather(*self._retiring, return_exceptions=True)
        engines = list(self._engines)
        self._engines.clear()  # the list start() also closes from: empty now
        for engine in engines:
            await _close_engine(engine)

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
            owns_engine = engine is None
            engines: list[Any] = []  # the runtime's (reloads add to it); closed last
            if engine is None:
                engine = build_engine(cfg)
                engines.append(engine)
            stack.push_async_callback(_close_all, engines)
            metrics = GatewayMetrics()
            if audit is None:
                hooks = _AuditMetrics(metrics)
                audit_log = await open_audit(cfg, secrets, hooks)
                stack.push_async_callback(audit_log.close)
                audit = audit_log
                if cfg.audit.on_failure == "degrade":
                    logger.warning("audit.on_failure is degrade: requests are served UNAUDITED"
                                   " while the audit log cannot write (not compliant)")
                if cfg.audit.directory is not None and cfg.audit.sinks:
                    hooks.shipper = await _start_shipper(cfg, secrets, audit_log, metrics, stack)
            transport = new_transport(cfg.upstream_client)
            stack.push_async_callback(transport.close)
            router = Router(cfg, engine=engine, audit=audit, transport=transport, secrets=secrets,
                            metrics=metrics,
                            enforce_decision_timeout=cfg.policy.engine not in EMBEDDED_ENGINES)
            router.start()
            app = GatewayApp(cfg, router, KeyStore(secrets.api_keys))
            rt = cls(app, router)
            rt.engine, rt.owns_engine, rt.audit, rt.transport = engine, owns_engine, audit, transport
            rt._engines = engines
            stack.push_async_callback(rt._close_engines)
            stack.push_async_callback(lambda: rt.router.close())  # the router in force at exit
            devices = sorted({u.gpu.device for u in cfg.upstreams if u.gpu is not None})
            if devices:
                rt.monitor = await _start_monitor(cfg, lambda: rt.router, devices, telemetry,
                                                  audit, stack)
                stack.push_async_callback(rt.monitor.stop)
            app.ready = True
            try:
                yield rt
            finally:
                app.ready = False


async def _start_shipper(cfg: GatewayConfig, secrets: ResolvedSecrets | None, log: Any,
                         metrics: GatewayMetrics, stack: contextlib.AsyncExitStack) -> Any:
    """Ship sealed segments in the background; stopped before the log closes (LIFO)."""
    import asyncio

    from governance.audit.sinks import SegmentShipper

    def on_result(sink: str, ok: bool) -> None:
        (metrics.audit_shipped if ok else metrics.audit_ship_failures).labels(sink).inc()

    shipper = SegmentShipper(log, cfg.audit.location, build_sinks(cfg, secrets),
                             retain_segments=cfg.audit.retain_segments,
                             retain_days=cfg.audit.retain_days,
                             interval_s=cfg.audit.ship_interval_s, on_result=on_result)
    task = asyncio.create_task(shipper.run(), name="govchaos-audit-shipper")

    async def stop() -> None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    stack.push_async_callback(stop)
    return shipper


async def _close_engine(engine: Any) -> None:
    close = getattr(engine, "close", None)
    if close is not None:
        with contextlib.suppress(Exception):
            await close()


async def _close_all(engines: list[Any]) -> None:
    for engine in list(engines):
        await _close_engine(engine)
    engines.clear()


async def _start_monitor(cfg: GatewayConfig, current: Any, devices: list[int], telemetry: Any,
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
        names = current().set_gpu_state(new.device, new.state)
        with contextlib.suppress(Exception):
            audit.append_nowait({
                "kind": "gpu", "device": new.device, "state": new.state,
                "previous": old.state if old is not None else None, "xid": new.xid,
                "reason": new.reason, "source": new.source, "upstreams": names,
            })

    monitor.subscribe(on_change)
    await monitor.start()
    for device, health in monitor.states().items():
        current().set_gpu_state(device, health.state)
    return monitor
