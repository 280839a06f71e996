"""The gateway process: bind, serve with uvicorn (httptools, uvloop), announce, drain on SIGTERM.

The HTTP server is uvicorn's httptools protocol with read bounds (:mod:`gateway.protocol`),
configured in one place (:func:`uvicorn_config`) for the CLI and the tests alike.

Process contract (ARCHITECTURE.md): once listening, print exactly
``govchaos gateway listening on http://HOST:PORT`` (flushed) and, with ``ready_file``, write
``{"url": ..., "pid": ...}`` there atomically (temp file + ``os.replace``). SIGTERM/SIGINT stop
accepting, let in-flight requests finish (up to ``drain_s``), flush and close the audit log,
and return 0. SIGHUP reloads the config and policy bundle (:mod:`gateway.reload`) and prints
``govchaos gateway reloaded CONFIG`` or ``govchaos gateway reload rejected: FILE: FIELD: why;
still serving the previous config`` to stderr.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

import orjson
import uvicorn

from gateway.config import GatewayConfig, LimitsConfig
from gateway.credentials import ResolvedSecrets
from gateway.errors import StartupError
from gateway.protocol import ReadLimits, bounded_protocol
from gateway.runtime import GatewayRuntime
from governance.errors import GovchaosError

# Reads the config file again and resolves its secrets (the CLI's load_config + resolve_secrets).
ConfigSource = Callable[[], tuple[GatewayConfig, ResolvedSecrets]]


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # uvicorn re-raises a captured SIGTERM after shutdown, which would kill the process
        # before the audit log is flushed; run_gateway installs its own handlers instead.
        yield


def bind(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """A listening TCP socket; with ``reuse_port`` (a worker of :mod:`gateway.supervisor`) one
    of several on the same port, the kernel spreading connections over them. Raises
    StartupError (e.g. port in use)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    sock.set_inheritable(True)
    return sock


def uvicorn_config(app: object, limits: LimitsConfig, *, drain_s: float = 5.0) -> uvicorn.Config:
    """The one uvicorn configuration of the gateway: httptools with the read bounds of
    :mod:`gateway.protocol` (header/body timeouts, head size, connection cap), no websockets,
    no lifespan, no access log, and ``limits.keepalive_timeout_ms`` for idle connections."""
    protocol = bounded_protocol(ReadLimits(
        header_timeout_s=limits.header_timeout_ms / 1000.0,
        body_timeout_s=limits.body_timeout_ms / 1000.0,
        max_header_bytes=limits.max_header_bytes,
        max_connections=limits.max_connections,
    ))
    return uvicorn.Config(
        app, http=protocol, ws="none", loop="none", lifespan="off", access_log=False,
        log_level="warning", server_header=False, date_header=False,
        timeout_graceful_shutdown=drain_s, backlog=2048, proxy_headers=False,
        timeout_keep_alive=limits.keepalive_timeout_ms / 1000.0,
    )


async def reload_from(rt: GatewayRuntime, source: ConfigSource, *, path: Path | None = None,
                      err: TextIO = sys.stderr) -> bool:
    """One SIGHUP: load, validate and swap in the config; on any error keep serving the old
    one and say why (located). Returns whether the new config is in force."""
    try:
        cfg, secrets = source()
        carried = await rt.reload(cfg, secrets, source=path)
    except GovchaosError as exc:
        print(f"govchaos gateway reload rejected: {exc.diagnostics()}; still serving the"
              " previous config", file=err, flush=True)
        return False
    except Exception as exc:  # a bug must not take the serving process down
        print(f"govchaos gateway reload rejected: {type(exc).__name__}: {exc}; still serving"
              " the previous config", file=err, flush=True)
        return False
    bundle = getattr(getattr(rt.engine, "bundle", None), "digest", None)
    print(f"govchaos gateway reloaded {path or 'config'}"
          + (f" (policy bundle {bundle})" if bundle else "")
          + f"; state kept for upstreams: {', '.join(carried) or 'none'}; budgets:"
          f" {len(rt.router.budgets.all())}", file=err, flush=True)
    return True


def write_ready_file(path: Path, url: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(orjson.dumps({"url": url, "pid": os.getpid()}))
    os.replace(tmp, path)


async def serve(cfg: GatewayConfig, secrets: ResolvedSecrets, *, host: str = "127.0.0.1",
                port: int = 8080, ready_file: Path | None = None, out: TextIO = sys.stdout,
                drain_s: float = 5.0, reload: ConfigSource | None = None,
                config_path: Path | None = None, reuse_port: bool = False) -> int:
    """Run until SIGTERM/SIGINT; returns the exit code (0 after a clean drain). With
    ``reload``, SIGHUP reloads the config (:func:`reload_from`); with ``reuse_port``, the
    port is shared with the other workers of a supervisor (:mod:`gateway.supervisor`).

    Raises:
        StartupError / GovchaosError: something could not start (port, engine, audit, GPU).
    """
    sock = bind(host, port, reuse_port=reuse_port)
    try:
        async with GatewayRuntime.start(cfg, secrets) as rt:
            server = _Server(uvicorn_config(rt.app, cfg.limits, drain_s=drain_s))
            loop = asyncio.get_running_loop()

            def stop() -> None:
                rt.app.ready = False
                server.should_exit = True

            for sig in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.add_signal_handler(sig, stop)
            reloads: set[asyncio.Task[bool]] = set()
            if reload is not None:
                def hup() -> None:
                    t = asyncio.create_task(reload_from(rt, reload, path=config_path))
                    reloads.add(t)
                    t.add_done_callback(reloads.discard)

                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.add_signal_handler(signal.SIGHUP, hup)
            task = asyncio.create_task(server.serve(sockets=[sock]))
            while not server.started and not task.done():
                await asyncio.sleep(0.005)
            if task.done():
                task.result()
                raise StartupError("the HTTP server stopped during startup")
            bound_host, bound_port = sock.getsockname()[:2]
            shown = f"[{bound_host}]" if ":" in bound_host else bound_host
            url = f"http://{shown}:{bound_port}"
            # ready file first: whoever sees the line can rely on the file already being there
            if ready_file is not None:
                write_ready_file(ready_file, url)
            print(f"govchaos gateway listening on {url}", file=out, flush=True)
            await task
            await asyncio.gather(*reloads, return_exceptions=True)
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.remove_signal_handler(sig)
    finally:
        sock.close()
    return 0


def run(cfg: GatewayConfig, secrets: ResolvedSecrets, **kwargs: object) -> int:
    """Blocking entry point: uvloop when available."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        return asyncio.run(serve(cfg, secrets, **kwargs))  # type: ignore[arg-type]
    return uvloop.run(serve(cfg, secrets, **kwargs))  # type: ignore[arg-type]
