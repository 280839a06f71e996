"""Everything a run starts, and stops again: upstream fleet, fault proxies, gateway.

Start order: the simulated upstream fleet (its own process), one fault proxy per upstream
(the embedded Toxiproxy-compatible server in its own process, ``python -m chaos.proxy``, or a
real Toxiproxy when the caller passes its URL), the
GPU control file and keys file, then the gateway config filled from the scenario's template and
the gateway itself (reference: ``govchaos gateway serve`` as a subprocess; external: the
scenario's command, if any, or just its base URL). Stop order is the reverse, and every process
is stopped by its own PID whatever happened before.

:class:`RunStack` is also the :class:`~chaos.faults.base.FaultContext` fault kinds act on (its
controls are in :mod:`chaos.runner.fault_context`); the gateway process itself is supervised
by :class:`~chaos.runner.gateway_process.GatewayProcess`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import sys
from collections.abc import Mapping
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from chaos.errors import RunBrokenError
from chaos.runner.artifacts import AUDIT_DIR
from chaos.runner.fault_context import FaultProxyControl, FleetProviderControl
from chaos.runner.gateway_process import GatewayExit, GatewayProcess, free_port, resolve_command
from chaos.scenario.loader import LoadedScenario
from chaos.scenario.model import ExternalTarget, ReferenceTarget, Scenario, UpstreamSpec
from chaos.scenario.template import fill_template

if TYPE_CHECKING:
    from chaos.providers import FleetProcess
    from chaos.providers.models import UpstreamInfo as ReadyUpstream
    from chaos.proxy.control import ProxyControl as ToxiproxyClient
    from gateway.gpu.control_file import GpuControlFile

log = logging.getLogger(__name__)


class RunStack:
    """The processes and servers of one run. Use as ``async with RunStack(...) as stack``."""

    def __init__(
        self,
        loaded: LoadedScenario,
        *,
        run_id: str,
        run_dir: Path,
        work_dir: Path,
        toxiproxy_url: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.loaded = loaded
        self.scenario: Scenario = loaded.scenario
        self.run_id = run_id
        # Absolute: the gateway config lives in work_dir and resolves relative paths against it.
        self.run_dir = run_dir.resolve()
        self.work_dir = work_dir.resolve()
        self.toxiproxy_url = toxiproxy_url
        self._exit = AsyncExitStack()
        self._fleets: dict[str, FleetProcess] = {}  # by label
        self._fleet_of: dict[str, FleetProcess] = {}  # upstream name -> the one hosting it
        self._fleet_ready: dict[str, ReadyUpstream] = {}  # upstream name -> its address at start
        self._proxy_control: ToxiproxyClient | None = None
        self._proxy_names: dict[str, str] = {}
        self.gateway = GatewayProcess(self.work_dir, environ)
        self._free_port: int | None = None
        self.base_url: str = ""
        self.upstream_urls: dict[str, str] = {}  # name -> proxied base URL (what the gateway uses)
        self.config_text: str | None = None
        self.config_sha256: str | None = None
        self.audit_path: Path | None = None
        self.gpu_control_file = work_dir / "gpu-control.json"
        self.keys_file = work_dir / "keys.yaml"
        self.proxy: FaultProxyControl | None = None
        self.providers: FleetProviderControl | None = None
        self.gpu: GpuControlFile | None = None
        self.pids: dict[str, int] = {}
        self.fault_proxy_seed: int | None = None  # None with a real Toxiproxy (unseeded)

    # -- FaultContext -------------------------------------------------------------------------
    def upstream(self, name: str) -> UpstreamSpec:
        return self.scenario.upstream(name)

    def proxy_address(self, name: str) -> tuple[str, int]:
        """Where the fault proxy in front of ``name`` listens (what the gateway dials)."""
        from urllib.parse import urlsplit

        url = urlsplit(self.upstream_urls[name])
        return url.hostname or "127.0.0.1", int(url.port or 80)

    # -- lifecycle ----------------------------------------------------------------------------
    async def __aenter__(self) -> "RunStack":
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Start fleet, proxies and gateway; wait until the gateway is ready.

        Raises:
            RunBrokenError: a component failed to start (names which and why).
        """
        self.work_dir.mkdir(parents=True, exist_ok=True)
        await self._start_fleet()
        await self._start_proxies()
        from gateway.gpu.control_file import GpuControlFile

        self.gpu = GpuControlFile(self.gpu_control_file)
        self.gpu.clear_all()
        self._write_keys_file()
        target = self.scenario.target
        if isinstance(target, ReferenceTarget):
            await self._start_reference(target)
        else:
            await self._start_external(target)

    def killed_upstreams(self) -> set[str]:
        """Upstreams some fault of the scenario kills (each gets a fleet process of its own)."""
        from chaos.faults.base import kills_target
        from chaos.faults.registry import default_registry

        registry = default_registry()
        return {
            f.target for f in self.scenario.faults
            if kills_target(registry.get(f.kind), registry.parse_params(f))
        }

    async def _start_fleet(self) -> None:
        from chaos.providers import FleetProcess, FleetSpec, LatencyProfile
        from chaos.providers import MockUpstreamSpec as SimulatedSpec

        specs = [
            SimulatedSpec(
                name=u.name,
                model=u.model,
                latency=LatencyProfile(
                    base_ms=u.latency.base_ms,
                    jitter_ms=u.latency.jitter_ms,
                    per_token_ms=u.latency.per_token_ms,
                ),
                seed=self.scenario.seed + i,
            )
            for i, u in enumerate(self.scenario.upstreams)
        ]
        log_dir = str(self.work_dir / "upstream-logs")
        killed = self.killed_upstreams()
        groups: dict[str, tuple[Any, ...]] = {}
        shared = tuple(s for s in specs if s.name not in killed)
        if shared:
            groups["fleet"] = shared
        for s in specs:
            if s.name in killed:
                groups[f"fleet-{s.name}"] = (s,)
        fleets = {
            label: FleetProcess(FleetSpec(upstreams=group, log_dir=log_dir),
                                workdir=self.work_dir / label)
            for label, group in groups.items()
        }
        self._fleets = fleets
        results = await asyncio.gather(*(f.start() for f in fleets.values()),
                                       return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise RunBrokenError(f"simulated upstreams did not start: {result}") from result
        self._fleet_ready = {}
        for label, fleet in fleets.items():
            self._fleet_ready.update(fleet.ready.upstreams)
            if fleet.pid:
                self.pids["upstream-" + label] = fleet.pid
        self._fleet_of = {s.name: fleets[label] for label, group in groups.items() for s in group}
        isolated = {name: fleets[f"fleet-{name}"] for name in killed}
        self.providers = FleetProviderControl(fleets.get("fleet"), isolated)

    async def _start_proxies(self) -> None:
        from chaos.proxy.control import fault_proxy
        from chaos.proxy.process import fault_proxy_process

        try:
            if self.toxiproxy_url:
                control = await self._exit.enter_async_context(fault_proxy(self.toxiproxy_url))
            else:
                # Its own process: on the harness's loop, proxied bytes would wait behind the
                # load generator (a ~2 s stall on every upstream at once was seen under load).
                process = await self._exit.enter_async_context(fault_proxy_process(
                    seed=self.scenario.seed, work_dir=self.work_dir / "fault-proxy"))
                control = process.control
                self.pids["fault-proxy"] = process.pid
            self.fault_proxy_seed = control.seed
            for spec in self.scenario.upstreams:
                info = self._fleet_ready[spec.name]
                name = f"govchaos-{self.run_id}-{spec.name}"
                proxy = await control.create_proxy(
                    name, upstream=f"127.0.0.1:{info.port}", listen="127.0.0.1:0"
                )
                self._proxy_names[spec.name] = name
                self.upstream_urls[spec.name] = f"http://{proxy.listen}/v1"
        except RunBrokenError:
            raise
        except Exception as exc:
            raise RunBrokenError(f"fault proxy did not start: {exc}") from exc
        self._proxy_control = control
        self.proxy = FaultProxyControl(control, self._proxy_names)

    def _write_keys_file(self) -> None:
        keys = [{"key": k.key, "tenant": k.tenant} for k in self.scenario.keys]
        self.keys_file.write_text(yaml.safe_dump({"keys": keys}), encoding="utf-8")
        os.chmod(self.keys_file, 0o600)

    def template_values(self, config_file: Path) -> dict[str, str]:
        values = {
            "audit_path": str(self.audit_path or self.run_dir / "audit.jsonl"),
            "audit_dir": str(self.run_dir / AUDIT_DIR),
            "gpu_control_file": str(self.gpu_control_file),
            "keys_file": str(self.keys_file),
            "config_file": str(config_file),
            "policy_bundle": str(self.loaded.resolve(self.scenario.policy.bundle)),
            "run_id": self.run_id,
            "seed": str(self.scenario.seed),
            "free_port": str(self._port()),
        }
        for key in self.scenario.keys:
            values[f"keys.{key.tenant}"] = key.key
        target = self.scenario.target
        if isinstance(target, ExternalTarget) and target.api_key is not None:
            values["target.api_key"] = target.api_key
        for spec in self.scenario.upstreams:
            values[f"upstreams.{spec.name}.base_url"] = self.upstream_urls[spec.name]
            values[f"upstreams.{spec.name}.model"] = spec.model
            values[f"upstreams.{spec.name}.gpu_device"] = str(
                spec.gpu_device if spec.gpu_device is not None else ""
            )
        return values

    def _port(self) -> int:
        if self._free_port is None:
            self._free_port = free_port()
        return self._free_port

    def _fill_config(self, template: str, config_file: Path) -> None:
        path = self.loaded.resolve(template)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise RunBrokenError(f"cannot read config template {path}: {exc.strerror}") from exc
        filled = fill_template(text, self.template_values(config_file), file=str(path))
        config_file.write_text(filled, encoding="utf-8")
        self.config_text = filled
        self.config_sha256 = hashlib.sha256(filled.encode()).hexdigest()

    async def _start_reference(self, target: ReferenceTarget) -> None:
        self.audit_path = self.run_dir / "audit.jsonl"
        config_file = self.work_dir / "gateway.yaml"
        self._fill_config(target.config_template, config_file)
        ready_file = self.work_dir / "gateway-ready.json"
        argv = [
            sys.executable, "-m", "govchaos", "gateway", "serve",
            "--config", str(config_file), "--host", "127.0.0.1", "--port", "0",
            "--ready-file", str(ready_file),
        ]  # fmt: skip
        if target.workers > 1:
            argv += ["--workers", str(target.workers)]
        ready = await self._spawn("gateway", argv, ready_file=ready_file,
                                  timeout_s=target.ready_timeout_s)
        self.base_url = str(ready["url"]).rstrip("/")

    async def _start_external(self, target: ExternalTarget) -> None:
        config_file = self.work_dir / "gateway-config"
        if target.config_template:
            self._fill_config(target.config_template, config_file)
        values = self.template_values(config_file)
        self.base_url = fill_template(target.base_url, values).rstrip("/")
        if target.command:
            argv = [fill_template(part, values) for part in target.command]
            argv[0] = resolve_command(argv[0], base_dir=self.loaded.base_dir,
                                      search=[self.loaded.resolve(d) for d in target.command_path])
            env = {name: fill_template(value, values) for name, value in target.env.items()}
            await self._spawn("gateway", argv, ready_file=None, timeout_s=target.ready_timeout_s,
                              env=env)
        await self.gateway.wait_http_ready(self.base_url + target.ready_path, target.ready_timeout_s)

    async def _spawn(
        self, label: str, argv: list[str], *, ready_file: Path | None, timeout_s: float,
        env: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        try:
            return await self.gateway.spawn(label, argv, ready_file=ready_file,
                                            timeout_s=timeout_s, env=env)
        finally:
            if self.gateway.pid is not None:
                self.pids[label] = self.gateway.pid

    # The gateway process's facts, as the report reads them.
    @property
    def gateway_log(self) -> Path | None:
        return self.gateway.log_path

    @property
    def gateway_exit(self) -> GatewayExit | None:
        return self.gateway.exit

    def gateway_running(self) -> bool:
        """False once a gateway the harness started has ended by itself."""
        return self.gateway.running()

    async def upstream_log(self) -> list[Any]:
        """Every request every simulated upstream received (ground truth), or [] if unknown."""
        if not self._fleet_of:
            return []
        entries: list[Any] = []
        for spec in self.scenario.upstreams:
            try:
                entries.extend(await self._fleet_of[spec.name].control.requests(spec.name))
            except Exception as exc:  # the fleet process died: fall back to its log files
                log.warning("upstream log of %s via API failed: %s", spec.name, exc)
                entries.extend(self._log_file_entries(spec.name))
        return entries

    def _log_file_entries(self, name: str) -> list[Any]:
        from chaos.providers import read_request_log

        path = self.work_dir / "upstream-logs" / f"{name}.jsonl"
        try:
            return list(read_request_log(path))
        except Exception:
            return []

    async def stop(self) -> list[str]:
        """Stop everything that started, gateway first. Never raises; returns problems."""
        problems = await self.gateway.stop()
        if self.gpu is not None:
            with contextlib.suppress(Exception):
                self.gpu.clear_all()
        if self._proxy_control is not None and self.toxiproxy_url:
            # A shared real Toxiproxy: remove what this run created.
            for name in self._proxy_names.values():
                with contextlib.suppress(Exception):
                    await self._proxy_control.delete_proxy(name)
        try:
            await self._exit.aclose()
        except Exception as exc:
            problems.append(f"fault proxy stop: {exc}")
        self._proxy_control = None
        fleets, self._fleets = self._fleets, {}
        for label, fleet in fleets.items():
            try:
                await fleet.stop()
            except Exception as exc:
                problems.append(f"upstream {label} stop: {exc}")
        return problems
