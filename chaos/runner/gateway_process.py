"""The gateway process a run starts: spawn it, wait until it is ready, stop it by its PID.

The reference gateway says it is ready by writing its ready file (``--ready-file``: URL and
PID); an external gateway by answering its ``ready_path`` with anything below 500. Either way a
process that ends by itself is recorded as a :class:`GatewayExit` (code, log path, last lines
of its log), which the report keeps: before it was ready the run is broken, during the run the
system under test crashed.

>>> GatewayExit(3, Path("gw.log"), "").describe("during the run")
'gateway exited with code 3 during the run (log: gw.log); its log is empty'
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson

from chaos.errors import RunBrokenError

LOG_TAIL_LINES = 20
# SIGTERM drains; after this it is SIGKILL. Longer than a --workers supervisor may take itself
# (gateway.supervisor: a 5 s drain + STOP_GRACE_S), so its workers close their chains first.
STOP_TIMEOUT_S = 20.0


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


def resolve_command(program: str, *, base_dir: Path, search: list[Path]) -> str:
    """An external target's ``command[0]`` as an absolute path: a path relative to the
    scenario's directory (``base_dir``), or a bare name looked up in ``search`` (the scenario's
    ``command_path``) or, when that is empty, ``PATH``.

    Raises:
        RunBrokenError: not found (names every place looked in).
    """
    if "/" in program:
        # abspath, not resolve(): a venv's python is a symlink that must stay one.
        path = Path(os.path.abspath(base_dir / program))
        if os.access(path, os.X_OK) and path.is_file():
            return str(path)
        raise RunBrokenError(f"target.command: {program} ({path}) is not an executable file")
    dirs = [str(d) for d in search]
    found = shutil.which(program, path=os.pathsep.join(dirs) if dirs else None)
    if found is None:
        where = (f"target.command_path ({', '.join(dirs)})" if dirs
                 else "PATH (set target.command_path to look elsewhere)")
        raise RunBrokenError(f"target.command: {program!r} not found in {where}")
    return os.path.abspath(found)  # not resolve(): a venv's python is a symlink


class GatewayProcess:
    """One gateway process started by the harness, its output in ``work_dir/<label>.log``."""

    def __init__(self, work_dir: Path, environ: Mapping[str, str] | None = None) -> None:
        self.work_dir = work_dir
        self._environ = dict(environ or {})
        self._process: asyncio.subprocess.Process | None = None
        self.pid: int | None = None
        self.log_path: Path | None = None  # the process's stdout + stderr
        self.exit: GatewayExit | None = None  # set when it ended by itself

    async def spawn(
        self, label: str, argv: list[str], *, ready_file: Path | None, timeout_s: float,
        env: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Start ``argv``; with ``ready_file``, wait for it and return its JSON (else ``{}``).

        Raises:
            RunBrokenError: it cannot start, ends before it is ready, or is not ready in time.
        """
        log_file = self.work_dir / f"{label}.log"
        self.log_path = log_file
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
        self._process = process
        self.pid = process.pid
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
                raise RunBrokenError(self.exited().describe("before it was ready"))
            if time.monotonic() > deadline:
                raise RunBrokenError(f"{label} not ready after {timeout_s:g} s (log: {log_file})")
            await asyncio.sleep(0.05)

    async def wait_http_ready(self, url: str, timeout_s: float) -> None:
        """Wait until ``url`` answers below 500.

        Raises:
            RunBrokenError: the process ended first, or ``url`` is not ready in time.
        """
        deadline = time.monotonic() + timeout_s
        last = ""
        async with httpx.AsyncClient(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self._process is not None and self._process.returncode is not None:
                    raise RunBrokenError(self.exited().describe("before it was ready"))
                try:
                    response = await client.get(url)
                    if response.status_code < 500:
                        return
                    last = f"HTTP {response.status_code}"
                except httpx.HTTPError as exc:
                    last = type(exc).__name__
                await asyncio.sleep(0.2)
        where = f"; log: {self.log_path}" if self.log_path else ""
        raise RunBrokenError(f"gateway at {url} not ready after {timeout_s:g} s ({last}){where}")

    def exited(self) -> GatewayExit:
        """Record that the process ended by itself (it must have)."""
        assert self._process is not None and self._process.returncode is not None
        if self.exit is None:
            log_path = self.log_path or self.work_dir / "gateway.log"
            self.exit = GatewayExit(self._process.returncode, log_path, log_tail(log_path))
        return self.exit

    def running(self) -> bool:
        """False once a process the harness started has ended by itself."""
        return self._process is None or self._process.returncode is None

    async def stop(self) -> list[str]:
        """SIGTERM by PID, SIGKILL after :data:`STOP_TIMEOUT_S`. Never raises; returns problems."""
        problems: list[str] = []
        if self._process is not None and self._process.returncode is not None:
            self.exited()  # it ended by itself: keep its code and log tail for the report
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
            except TimeoutError:
                problems.append(f"gateway pid {process.pid} ignored SIGTERM; killed")
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGKILL)
                await process.wait()
        return problems
