"""Run a fleet of upstreams in a child process and drive it over HTTP.

The harness process is busy generating load, so the upstreams get their own process (and core).

>>> async with FleetProcess(spec, workdir=tmp_path) as fleet:      # doctest: +SKIP
...     url = fleet.ready.upstreams["private-eu"].url
...     await fleet.control.set_fault("private-eu", "hang")
...     await fleet.kill()      # SIGKILL: every connection dies with the process
...     await fleet.restart()   # a new process on the same ports, appending to the same logs

A kill is a kill: :meth:`FleetProcess.kill` SIGKILLs the process, so the kernel resets every
connection it held, including ones it had accepted but not yet served. The harness hosts each
upstream a fault kills in a fleet process of its own (``chaos.runner.stack``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from chaos.providers.errors import FleetProcessError
from chaos.providers.models import (
    FaultSpec, FleetReady, FleetSpec, RequestLogEntry, UpstreamInfo, UsageEntry,
)


class FleetControl:
    """Client of the fleet control server (``chaos.providers.control_server``).

    Every method raises :class:`FleetProcessError` when the server cannot be reached or refuses
    the command (the message carries the server's ``error``).
    """

    def __init__(self, control_url: str, *, timeout_s: float = 5.0) -> None:
        self.control_url = control_url.rstrip("/")
        self._client = httpx.AsyncClient(base_url=self.control_url, timeout=timeout_s)

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            response = await self._client.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise FleetProcessError(f"fleet control {method} {path}: {exc!r}") from exc
        try:
            payload = response.json()
        except ValueError as exc:
            raise FleetProcessError(f"fleet control {method} {path}: non-JSON answer") from exc
        if response.status_code >= 400:
            raise FleetProcessError(
                f"fleet control {method} {path}: {payload.get('error', response.status_code)}"
            )
        return payload

    async def upstreams(self) -> dict[str, UpstreamInfo]:
        payload = await self._call("GET", "/_govchaos/upstreams")
        return {n: UpstreamInfo.model_validate(i) for n, i in payload["upstreams"].items()}

    async def set_fault(self, name: str, kind: str, **params: Any) -> FaultSpec:
        payload = await self._call(
            "POST", f"/_govchaos/upstreams/{name}/fault", {"kind": kind, "params": params}
        )
        return FaultSpec.model_validate(payload["fault"])

    async def clear_fault(self, name: str) -> None:
        await self._call("DELETE", f"/_govchaos/upstreams/{name}/fault")

    async def kill(self, name: str) -> UpstreamInfo:
        return UpstreamInfo.model_validate(await self._call("POST", f"/_govchaos/upstreams/{name}/kill"))

    async def restart(self, name: str) -> UpstreamInfo:
        return UpstreamInfo.model_validate(
            await self._call("POST", f"/_govchaos/upstreams/{name}/restart")
        )

    async def requests(self, name: str) -> list[RequestLogEntry]:
        payload = await self._call("GET", f"/_govchaos/upstreams/{name}/requests")
        return [RequestLogEntry.model_validate(entry) for entry in payload["requests"]]

    async def usage(self, name: str) -> list[UsageEntry]:
        """What ``name`` answered, in tokens (its usage log)."""
        payload = await self._call("GET", f"/_govchaos/upstreams/{name}/usage")
        return [UsageEntry.model_validate(entry) for entry in payload["usage"]]

    async def aclose(self) -> None:
        await self._client.aclose()


class FleetProcess:
    """``python -m chaos.providers serve`` as a child process, started and stopped by us."""

    def __init__(
        self,
        spec: FleetSpec,
        *,
        workdir: str | Path | None = None,
        start_timeout_s: float = 15.0,
        stop_timeout_s: float = 5.0,
    ) -> None:
        self.spec = spec
        self._workdir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="govchaos-fleet-"))
        self._start_timeout_s = start_timeout_s
        self._stop_timeout_s = stop_timeout_s
        self._process: asyncio.subprocess.Process | None = None
        self._ready: FleetReady | None = None
        self._control: FleetControl | None = None

    @property
    def ready(self) -> FleetReady:
        if self._ready is None:
            raise FleetProcessError("fleet process is not running")
        return self._ready

    @property
    def control(self) -> FleetControl:
        if self._control is None:
            raise FleetProcessError("fleet process is not running")
        return self._control

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    async def start(self) -> FleetReady:
        """Spawn the process and wait (bounded) until it has written its ready file.

        Raises:
            FleetProcessError: the process exited, or was not ready within the start timeout.
        """
        self._workdir.mkdir(parents=True, exist_ok=True)
        spec_file = self._workdir / "fleet-spec.json"
        ready_file = self._workdir / "fleet-ready.json"
        stderr_file = self._workdir / "fleet-stderr.log"
        ready_file.unlink(missing_ok=True)
        spec_file.write_bytes(orjson.dumps(self.spec.model_dump(mode="json")))
        with open(stderr_file, "wb") as stderr:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "chaos.providers", "serve",
                "--spec", str(spec_file), "--ready-file", str(ready_file),
                stdout=asyncio.subprocess.DEVNULL, stderr=stderr,
            )  # fmt: skip
        deadline = time.monotonic() + self._start_timeout_s
        while not ready_file.exists():
            if self._process.returncode is not None:
                detail = stderr_file.read_text(errors="replace").strip()[-2000:]
                raise FleetProcessError(
                    f"fleet process exited with {self._process.returncode}: {detail}"
                )
            if time.monotonic() > deadline:
                await self.stop()
                raise FleetProcessError(f"fleet process not ready after {self._start_timeout_s}s")
            await asyncio.sleep(0.02)
        self._ready = FleetReady.model_validate(orjson.loads(ready_file.read_bytes()))
        self._control = FleetControl(self._ready.control_url)
        return self._ready

    async def kill(self) -> None:
        """SIGKILL the process and reap it (a dead worker: no goodbye, no drain). Idempotent.

        The ports are kept so :meth:`restart` listens where the gateway already points.
        """
        if self._control is not None:
            await self._control.aclose()
            self._control = None
        process, self._process = self._process, None
        if process is None:
            return
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGKILL)
            await process.wait()

    async def restart(self) -> FleetReady:
        """Start a new process with every upstream on the port it had. No-op while running.

        Raises:
            FleetProcessError: the new process did not come up (e.g. a port was taken).
        """
        if self._process is not None and self._process.returncode is None:
            return self.ready
        if self._ready is not None:
            pinned = tuple(
                u.model_copy(update={"port": self._ready.upstreams[u.name].port})
                if u.name in self._ready.upstreams else u
                for u in self.spec.upstreams
            )
            self.spec = self.spec.model_copy(update={"upstreams": pinned})
        return await self.start()

    async def stop(self) -> int | None:
        """SIGTERM the process, wait (bounded), SIGKILL it if it lingers. Returns its exit code."""
        if self._control is not None:
            await self._control.aclose()
            self._control = None
        process, self._process = self._process, None
        if process is None:
            return None
        if process.returncode is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), self._stop_timeout_s)
            except TimeoutError:
                os.kill(process.pid, signal.SIGKILL)
                await process.wait()
        return process.returncode

    async def __aenter__(self) -> FleetProcess:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()
