"""``govchaos gateway serve --workers N``: N worker processes, one event loop each, on one port.

The supervisor (this process) serves nothing. It checks the worker count and the audit layout
(:mod:`gateway.workers`), reserves the port — a socket bound with ``SO_REUSEPORT`` but never
listening, so a port in use fails here, once, and ``--port 0`` picks the port all workers
share — names every worker's chain in ``<audit.directory>/workers.json``, and starts the
workers. Each is ``govchaos gateway serve`` for one worker (the argv comes from the CLI): it
binds the same port with ``SO_REUSEPORT``, so the kernel spreads connections over the
workers, and writes its audit chain under ``worker-<i>/``.

Process contract, as for one process (:mod:`gateway.server`): once **every** worker listens,
the ready file is written (``{"url", "pid", "workers": [pids]}``, ``pid`` the supervisor's) and
``govchaos gateway listening on URL`` printed. SIGTERM/SIGINT are forwarded as SIGTERM (each
worker drains and closes its chain) and the exit code is 0 once all exited cleanly. SIGHUP is
forwarded: each worker reloads on its own and prints its own line. A worker that ends by
itself is reported on stderr (``govchaos gateway worker I (pid P) exited with code C; stopping
the other workers``) and the rest are stopped: the exit code is then non-zero, never a gateway
quietly serving at part of its capacity. Workers die with the supervisor (``PR_SET_PDEATHSIG``,
set by each worker: :func:`die_with_parent`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

import orjson

from gateway.config import GatewayConfig
from gateway.errors import StartupError
from gateway.metrics import MULTIPROCESS_ENV
from gateway.workers import check_layout, check_splittable, check_workers
from governance.audit import write_worker_set

# (worker index, port, ready file) -> the argv that runs that worker
WorkerArgv = Callable[[int, int, Path], list[str]]

STARTUP_TIMEOUT_S = 120.0  # every worker compiles its own policy engine
STOP_GRACE_S = 10.0  # after the drain: a worker still running is killed
_PR_SET_PDEATHSIG = 1


def reserve_port(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` with ``SO_REUSEPORT`` and not listening: the port the
    workers will share, held until they do. Raises StartupError (in use, no SO_REUSEPORT)."""
    if not hasattr(socket, "SO_REUSEPORT"):
        raise StartupError("--workers above 1 needs SO_REUSEPORT, which this platform lacks")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    return sock


def die_with_parent(parent_pid: int) -> None:
    """Ask the kernel to SIGTERM this process when its parent ends (Linux); exit at once if the
    parent ``parent_pid`` is already gone. Elsewhere a no-op."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent_pid:
        raise SystemExit(1)


class _Worker:
    def __init__(self, index: int, process: asyncio.subprocess.Process, ready: Path) -> None:
        self.index = index
        self.process = process
        self.ready = ready
        self.waiter = asyncio.ensure_future(process.wait())

    def signal(self, sig: int) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, sig)


async def supervise(cfg: GatewayConfig, *, workers: int, argv_for: WorkerArgv,
                    host: str = "127.0.0.1", port: int = 8080, ready_file: Path | None = None,
                    config_path: Path | None = None, out: TextIO = sys.stdout,
                    err: TextIO = sys.stderr, drain_s: float = 5.0,
                    startup_timeout_s: float = STARTUP_TIMEOUT_S) -> int:
    """Run ``workers`` workers until SIGTERM/SIGINT or until one ends by itself; returns the
    exit code (0: stopped on request and every worker drained cleanly).

    Raises:
        ConfigError: ``workers`` out of range, or an audit log that cannot be split (located).
        StartupError: the port cannot be reserved, or a worker did not start (which, its code).
    """
    check_workers(workers)
    check_splittable(cfg, config_path)
    check_layout(cfg, workers, config_path)
    assert cfg.audit.directory is not None
    reserved = reserve_port(host, port)
    scratch = Path(tempfile.mkdtemp(prefix="govchaos-workers-"))
    started: list[_Worker] = []
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    handled = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
    try:
        port = int(reserved.getsockname()[1])
        try:
            write_worker_set(cfg.audit.directory, workers)
        except OSError as exc:
            raise StartupError(f"cannot write {cfg.audit.directory}/workers.json:"
                               f" {exc.strerror}") from exc
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        loop.add_signal_handler(
            signal.SIGHUP, lambda: [w.signal(signal.SIGHUP) for w in started])
        # /metrics: every worker's values in one directory, so whichever worker takes the
        # scrape answers for all of them (prometheus_client's multiprocess mode)
        metrics_dir = scratch / "metrics"
        metrics_dir.mkdir()
        env = {**os.environ, MULTIPROCESS_ENV: str(metrics_dir)}
        for i in range(workers):
            ready = scratch / f"worker-{i}.json"
            try:
                process = await asyncio.create_subprocess_exec(
                    *argv_for(i, port, ready), stdin=asyncio.subprocess.DEVNULL, env=env)
            except OSError as exc:
                raise StartupError(f"cannot start gateway worker {i}: {exc}") from exc
            started.append(_Worker(i, process, ready))
        await _wait_listening(started, stop, startup_timeout_s)
        if stop.is_set():
            return await _stop_all(started, drain_s, err)
        reserved.close()  # every worker holds the port now
        shown = f"[{host}]" if ":" in host else host
        url = f"http://{shown}:{port}"
        if ready_file is not None:
            tmp = ready_file.with_name(f".{ready_file.name}.{os.getpid()}.tmp")
            tmp.write_bytes(orjson.dumps({"url": url, "pid": os.getpid(),
                                          "workers": [w.process.pid for w in started]}))
            os.replace(tmp, ready_file)
        print(f"govchaos gateway listening on {url}", file=out, flush=True)
        stopper = asyncio.ensure_future(stop.wait())
        await asyncio.wait([stopper, *(w.waiter for w in started)],
                           return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if not stop.is_set():
            # Ctrl-C in a terminal signals the whole process group: a worker may end on its
            # own SIGINT a moment before this process runs its handler for the same signal.
            await asyncio.sleep(0.1)
        died = [w for w in started if w.process.returncode is not None]
        if died and not stop.is_set():
            for w in died:
                print(f"govchaos gateway worker {w.index} (pid {w.process.pid}) exited with code"
                      f" {w.process.returncode}; stopping the other workers", file=err,
                      flush=True)
            await _stop_all(started, drain_s, err)
            return 1
        return await _stop_all(started, drain_s, err)
    except BaseException:
        await _stop_all(started, drain_s, err)
        raise
    finally:
        reserved.close()
        for sig in handled:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)
        shutil.rmtree(scratch, ignore_errors=True)


async def _wait_listening(workers: list[_Worker], stop: asyncio.Event, timeout_s: float) -> None:
    """Until every worker has written its ready file (or a stop was asked for).

    Raises:
        StartupError: a worker ended first, or not all listen within ``timeout_s``.
    """
    deadline = time.monotonic() + timeout_s
    while not stop.is_set():
        for w in workers:
            if w.process.returncode is not None:
                raise StartupError(f"gateway worker {w.index} (pid {w.process.pid}) exited with"
                                   f" code {w.process.returncode} before it was listening (its"
                                   " error is above)")
        if all(w.ready.exists() for w in workers):
            return
        if time.monotonic() > deadline:
            slow = [str(w.index) for w in workers if not w.ready.exists()]
            raise StartupError(f"gateway worker(s) {', '.join(slow)} not listening after"
                               f" {timeout_s:g} s")
        await asyncio.sleep(0.02)


async def _stop_all(workers: list[_Worker], drain_s: float, err: TextIO) -> int:
    """SIGTERM every worker still running, SIGKILL what is left after the drain; 0 if every
    worker exited with 0."""
    for w in workers:
        w.signal(signal.SIGTERM)
    if workers:
        done, pending = await asyncio.wait([w.waiter for w in workers],
                                           timeout=drain_s + STOP_GRACE_S)
        for w in workers:
            if w.process.returncode is None:
                print(f"govchaos gateway worker {w.index} (pid {w.process.pid}) did not stop;"
                      " killed", file=err, flush=True)
                w.signal(signal.SIGKILL)
        if pending:
            await asyncio.wait(pending)
    return 0 if all(w.process.returncode == 0 for w in workers) else 1


def run(cfg: GatewayConfig, **kwargs: object) -> int:
    """Blocking entry point of :func:`supervise`."""
    return asyncio.run(supervise(cfg, **kwargs))  # type: ignore[arg-type]
