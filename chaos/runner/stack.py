"""Everything a run starts, and stops again: upstream fleet, fault proxies, gateway.

Start order: the simulated upstream fleet (its own process), one fault proxy per upstream
(the embedded Toxiproxy-compatible server in its own process, ``python -m chaos.proxy``, or a
real Toxiproxy when the caller passes its URL), the
GPU control file and keys file, then the gateway config filled from the scenario's template and
the gateway itself (reference: ``govchaos gateway serve`` as a subprocess; external: the
scenario's command, if any, or just its base URL). Stop order is the reverse, and every process
is stopped by its own PID whatever happened before.

:class:`RunStack` is also the :class:`~chaos.faults.base.FaultContext` fault kinds act on.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import shutil
import signal
import socket
import sys
import time
from collections.abc import Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import yaml

from chaos.errors import RunBrokenError
from chaos.scenario.loader import LoadedScenario
from chaos.scenario.model import ExternalTarget, ReferenceTarget, Scenario, UpstreamSpec
from chaos.scenario.template import fill_template

log = logging.getLogger(__name__)


LOG_TAIL_LINES = 20


@dataclass(frozen=True, slots=True)
class GatewayExit:
    """A gateway process that ended by itself (before it was ready, or during the run)."""

    returncode: int
    log_path: Path
    log_tail: str

    def describe(self, when: str) -> str:
        return (f"gateway exited with code {self.returncode} {when} (log: {self.log_path})"
                + (f"; last lines:\n{self.log_tail}" if self.log_tail else "; its log is empty"))


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last ``lines`` lines of a log file ("" when it is missing or empty)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 64 * 1024))
            text = f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now, for gateways that cannot be told to bind port 0
    (another process could take it before the gateway binds it: rare, and it then fails to
    start with its own error)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _ProxyAdapter:
    """The fault kinds' ProxyControl protocol over the Toxiproxy API client."""

    def __init__(self, control: Any, names: Mapping[str, str]) -> None:
        self._control = control
        self._names = names  # upstream name -> proxy name

    async def set_enabled(self, upstream: str, enabled: bool) -> None:
        name = self._names[upstream]
        await (self._control.enable(name) if enabled else self._control.disable(name))

    async def add_toxic(
        self,
        upstream: str,
        name: str,
        toxic_type: str,
        *,
        stream: str,
        toxicity: float,
        attributes: dict[str, Any],
    ) -> None:
        from chaos.proxy.control import ToxicSpec

        spec = ToxicSpec(
            type=toxic_type, name=name, stream=stream, toxicity=toxicity, attributes=attributes
        )
        await self._control.add_toxic(self._names[upstream], spec)

    async def remove_toxic(self, upstream: str, name: str) -> None:
        await self._control.remove_toxic(self._names[upstream], name)


class _ProviderAdapter:
    """The fault kinds' ProviderControl protocol over the fleet processes' control APIs.

    An upstream that a fault kills runs in a fleet process of its own (``isolated``): killing
    it is SIGKILL on that process and restarting it is a new process on the same port, so
    every connection it held dies with it, as when a real worker dies.
    """

    def __init__(self, shared: Any, isolated: Mapping[str, Any]) -> None:
        self._shared = shared  # FleetProcess hosting the upstreams no fault kills (or None)
        self._isolated = isolated  # upstream name -> its own FleetProcess

    def _fleet(self, upstream: str) -> Any:
        return self._isolated.get(upstream) or self._shared

    async def set_fault(self, upstream: str, kind: str, params: dict[str, Any]) -> None:
        await self._fleet(upstream).control.set_fault(upstream, kind, **params)

    async def clear_fault(self, upstream: str) -> None:
        await self._fleet(upstream).control.clear_fault(upstream)

    async def kill(self, upstream: str) -> None:
        if upstream in self._isolated:
            await self._isolated[upstream].kill()
        else:
            await self._shared.control.kill(upstream)

    async def restart(self, upstream: str) -> None:
        if upstream in self._isolated:
            await self._isolated[upstream].restart()
        else:
            await self._shared.control.restart(upstream)


AUDIT_DIR = "audit"  # ${audit_dir}: the gateway's segment directory inside the run directory


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
        self._environ = dict(environ or {})
        self._exit = AsyncExitStack()
        self._fleets: dict[str, Any] = {}  # label -> FleetProcess
        self._fleet_of: dict[str, Any] = {}  # upstream name -> the FleetProcess hosting it
        self._fleet_ready: dict[str, Any] = {}  # upstream name -> UpstreamInfo at start
        self._proxy_control: Any = None
        self._proxy_names: dict[str, str] = {}
        self._gateway: asyncio.subprocess.Process | None = None
        self.gateway_pid: int | None = None
        self.gateway_log: Path | None = None  # the gateway process's stdout + stderr
        self.gateway_exit: GatewayExit | None = None  # set when it ended by itself
        self._free_port: int | None = None
        self.base_url: str = ""
        self.upstream_urls: dict[str, str] = {}  # name -> proxied base URL (what the gateway uses)
        self.config_text: str | None = None
        self.config_sha256: str | None = None
        self.audit_path: Path | None = None
        self.gpu_control_file = work_dir / "gpu-control.json"
        self.keys_file = work_dir / "keys.yaml"
        self.proxy: _ProxyAdapter | None = None
        self.providers: _ProviderAdapter | None = None
        self.gpu: Any = None
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
        self.providers = _ProviderAdapter(fleets.get("fleet"), isolated)

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
        self.proxy = _ProxyAdapter(control, self._proxy_names)

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
            argv[0] = self._resolve_command(argv[0], target)
            env = {name: fill_template(value, values) for name, value in target.env.items()}
            await self._spawn("gateway", argv, ready_file=None, timeout_s=target.ready_timeout_s,
                              env=env)
        await self._wait_http_ready(self.base_url + target.ready_path, target.ready_timeout_s)

    def _resolve_command(self, program: str, target: ExternalTarget) -> str:
        """``command[0]`` as an absolute path.

        Raises:
            RunBrokenError: not found (names every place looked in).
        """
        if "/" in program:
            # abspath, not resolve(): a venv's python is a symlink that must stay one.
            path = Path(os.path.abspath(self.loaded.base_dir / program))
            if os.access(path, os.X_OK) and path.is_file():
                return str(path)
            raise RunBrokenError(f"target.command: {program} ({path}) is not an executable file")
        dirs = [str(self.loaded.resolve(d)) for d in target.command_path]
        found = shutil.which(program, path=os.pathsep.join(dirs) if dirs else None)
        if found is None:
            where = (f"target.command_path ({', '.join(dirs)})" if dirs
                     else "PATH (set target.command_path to look elsewhere)")
            raise RunBrokenError(f"target.command: {program!r} not found in {where}")
        return os.path.abspath(found)  # not resolve(): a venv's python is a symlink

    async def _spawn(
        self, label: str, argv: list[str], *, ready_file: Path | None, timeout_s: float,
        env: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        log_file = self.work_dir / f"{label}.log"
        self.gateway_log = log_file
        child_env = dict(os.environ)
        child_env.update(self._environ)
        child_env.update(env or {})
        with open(log_file, "wb") as out:
            try:
                # A new session: Ctrl-C reaches the runner only, which then stops this
                # process in order (drain, flush the audit log) instead of racing it.
                process = await asyncio.create_subprocess_exec(
                    *argv, stdout=out, stderr=asyncio.subprocess.STDOUT, env=child_env,
                    start_new_session=True,
                )
            except OSError as exc:
                raise RunBrokenError(f"cannot start {label} ({argv[0]}): {exc}") from exc
        self._gateway = process
        self.gateway_pid = process.pid
        self.pids[label] = process.pid
        if ready_file is None:
            return {}
        deadline = time.monotonic() + timeout_s
        while True:
            if ready_file.exists():
                try:
                    return orjson.loads(ready_file.read_bytes())
                except orjson.JSONDecodeError:
                    pass  # written atomically; retry covers any non-atomic writer
            if process.returncode is not None:
                raise RunBrokenError(self._exited().describe("before it was ready"))
            if time.monotonic() > deadline:
                raise RunBrokenError(f"{label} not ready after {timeout_s:g} s (log: {log_file})")
            await asyncio.sleep(0.05)

    async def _wait_http_ready(self, url: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        last = ""
        async with httpx.AsyncClient(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self._gateway is not None and self._gateway.returncode is not None:
                    raise RunBrokenError(self._exited().describe("before it was ready"))
                try:
                    response = await client.get(url)
                    if response.status_code < 500:
                        return
                    last = f"HTTP {response.status_code}"
                except httpx.HTTPError as exc:
                    last = type(exc).__name__
                await asyncio.sleep(0.2)
        where = f"; log: {self.gateway_log}" if self.gateway_log else ""
        raise RunBrokenError(f"gateway at {url} not ready after {timeout_s:g} s ({last}){where}")

    def _exited(self) -> GatewayExit:
        """Record that the gateway process ended by itself (it must have)."""
        assert self._gateway is not None and self._gateway.returncode is not None
        if self.gateway_exit is None:
            log_path = self.gateway_log or self.work_dir / "gateway.log"
            self.gateway_exit = GatewayExit(self._gateway.returncode, log_path,
                                            log_tail(log_path))
        return self.gateway_exit

    def gateway_running(self) -> bool:
        """False once a gateway the harness started has ended by itself."""
        return self._gateway is None or self._gateway.returncode is None

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
        problems: list[str] = []
        if self._gateway is not None and self._gateway.returncode is not None:
            self._exited()  # it ended by itself: keep its code and log tail for the report
        process, self._gateway = self._gateway, None
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 10.0)
            except TimeoutError:
                problems.append(f"gateway pid {process.pid} ignored SIGTERM; killed")
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGKILL)
                await process.wait()
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
