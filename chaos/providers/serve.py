"""Host a fleet of upstreams in this process until SIGTERM/SIGINT: the fleet process.

``python -m chaos.providers serve --spec FILE [--ready-file F] [--log-dir D]``

The spec file (YAML or JSON) is a :class:`~chaos.providers.models.FleetSpec`::

    log_dir: reports/run/upstreams          # optional: <log_dir>/<name>.jsonl per upstream
    upstreams:
      - name: private-eu
        model: llama-3.1-70b-private-eu
        latency: {base_ms: 20, jitter_ms: 5, per_token_ms: 2}
        seed: 7
      - name: cloud-us
        model: gpt-4o-cloud-us
        fault: {kind: error_500, params: {rate: 0.2}}

Once every upstream and the control server listen, the process prints one line
``govchaos upstreams ready: <control_url>`` and writes the ready file (a
:class:`~chaos.providers.models.FleetReady`) atomically. SIGTERM stops everything and exits 0.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import orjson
from aiohttp import web
from pydantic import ValidationError

from chaos.providers.control_server import control_app
from chaos.providers.errors import FleetSpecError
from chaos.providers.fleet import UpstreamFleet
from chaos.providers.models import FleetReady, FleetSpec
from governance.errors import Location
from governance.strict_load import loads_yaml


def load_fleet_spec(path: str | Path) -> FleetSpec:
    """Read and validate a fleet spec file.

    Raises:
        FleetSpecError: unreadable, not YAML/JSON, or invalid (names the file and field path).
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise FleetSpecError(f"cannot read fleet spec: {exc}", location=Location(str(file))) from exc
    data, _ = loads_yaml(text, str(file), FleetSpecError)  # strict: duplicate keys, alias bombs
    try:
        return FleetSpec.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "(root)"
        raise FleetSpecError(first["msg"], location=Location(str(file), field=field)) from exc


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers never see a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


async def serve_fleet(
    spec: FleetSpec,
    *,
    ready_file: Path | None = None,
    log_dir: str | None = None,
    stop: asyncio.Event | None = None,
) -> FleetReady:
    """Run the fleet and its control server until ``stop`` is set (or SIGTERM/SIGINT).

    Returns the ready information that was published.

    Raises:
        ProviderError: an upstream or the control server cannot listen.
    """
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(signum, stop.set)
        except (NotImplementedError, RuntimeError):  # not the main thread: caller stops us
            pass
    fleet = UpstreamFleet(spec.upstreams, log_dir=log_dir or spec.log_dir)
    runner = web.AppRunner(control_app(fleet), handle_signals=False, access_log=None)
    await fleet.start()
    try:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", spec.control_port).start()
        port = runner.addresses[0][1]
        ready = FleetReady(
            pid=os.getpid(), control_url=f"http://127.0.0.1:{port}", upstreams=fleet.info()
        )
        if ready_file is not None:
            write_atomically(ready_file, orjson.dumps(ready.model_dump(), option=orjson.OPT_INDENT_2))
        print(f"govchaos upstreams ready: {ready.control_url}", flush=True)
        await stop.wait()
        return ready
    finally:
        await runner.cleanup()
        await fleet.stop()


def run(spec_path: str, ready_file: str | None, log_dir: str | None) -> int:
    """Entry point of ``serve``: load the spec, serve until signalled. Returns the exit code.

    Raises:
        FleetSpecError: the spec is invalid.
        ProviderError: an upstream cannot listen.
    """
    spec = load_fleet_spec(spec_path)
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        uvloop = None
    coroutine = serve_fleet(
        spec, ready_file=Path(ready_file) if ready_file else None, log_dir=log_dir
    )
    if uvloop is not None and sys.platform != "win32":
        uvloop.run(coroutine)
    else:  # pragma: no cover
        asyncio.run(coroutine)
    return 0
