"""The embedded fault proxy in its own process, driven over its HTTP API.

Running the proxy on the harness's event loop makes every proxied byte wait behind the load
generator's work: under load, one run saw a ~2 s stall on every upstream at once. In its own
process (``python -m chaos.proxy --port 0 --ready-file …``) the proxy has an interpreter and a
loop to itself, and the harness talks to it exactly as it talks to a real Toxiproxy, through
:class:`~chaos.proxy.control.ProxyControl`.

>>> async def demo(tmp):
...     async with fault_proxy_process(seed=5, work_dir=tmp) as proxy:
...         info = await proxy.control.create_proxy("db", upstream="127.0.0.1:5432")
...         return proxy.pid > 0, proxy.control.seed, info.listen_port > 0
>>> import asyncio, tempfile, pathlib                                # doctest: +SKIP
>>> asyncio.run(demo(pathlib.Path(tempfile.mkdtemp())))             # doctest: +SKIP
(True, 5, True)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from chaos.proxy.control import ProxyControl
from chaos.proxy.errors import FaultProxyError

READY_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class ProxyProcess:
    """A running fault-proxy process: its PID, API URL, seed and a control client."""

    pid: int
    api_url: str
    seed: int | None
    control: ProxyControl


@contextlib.asynccontextmanager
async def fault_proxy_process(
    *,
    seed: int | None,
    work_dir: Path,
    ready_timeout_s: float = READY_TIMEOUT_S,
) -> AsyncIterator[ProxyProcess]:
    """Start ``python -m chaos.proxy`` on 127.0.0.1 (OS-picked port), wait for its ready file,
    yield it, and stop it by PID (SIGTERM, then SIGKILL after :data:`STOP_TIMEOUT_S`).

    The process gets its own session, so a Ctrl-C reaches the harness only, which stops the
    proxy in order. Its output goes to ``work_dir/fault-proxy.log``.

    Raises:
        FaultProxyError: the process cannot be started, exits, or is not ready in time.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    ready_file = work_dir / "fault-proxy-ready.json"
    log_file = work_dir / "fault-proxy.log"
    with contextlib.suppress(FileNotFoundError):
        ready_file.unlink()
    argv = [sys.executable, "-m", "chaos.proxy", "--host", "127.0.0.1", "--port", "0",
            "--ready-file", str(ready_file)]
    if seed is not None:
        argv += ["--seed", str(seed)]
    with open(log_file, "wb") as out:
        try:
            process = await asyncio.create_subprocess_exec(
                *argv, stdout=out, stderr=asyncio.subprocess.STDOUT, start_new_session=True,
            )
        except OSError as exc:
            raise FaultProxyError(f"cannot start the fault proxy process: {exc}") from exc
    try:
        ready = await _wait_ready(process, ready_file, log_file, ready_timeout_s)
        async with ProxyControl(str(ready["url"]), seed=ready.get("seed")) as control:
            yield ProxyProcess(pid=process.pid, api_url=str(ready["url"]),
                               seed=ready.get("seed"), control=control)
    finally:
        await _stop(process)


async def _wait_ready(
    process: asyncio.subprocess.Process, ready_file: Path, log_file: Path, timeout_s: float
) -> dict[str, object]:
    deadline = time.monotonic() + timeout_s
    while True:
        if ready_file.exists():
            try:
                data = json.loads(ready_file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                data = None  # written atomically; a retry covers any surprise
            if isinstance(data, dict) and data.get("pid") == process.pid and data.get("url"):
                return data
        if process.returncode is not None:
            tail = log_file.read_text(errors="replace").strip()[-1000:]
            raise FaultProxyError(f"fault proxy process exited with {process.returncode}: {tail}")
        if time.monotonic() > deadline:
            raise FaultProxyError(
                f"fault proxy process not ready after {timeout_s:g} s (log: {log_file})")
        await asyncio.sleep(0.02)


async def _stop(process: asyncio.subprocess.Process) -> None:
    """Stop our own process by its PID: SIGTERM, then SIGKILL. Never raises."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGKILL)
            await process.wait()
