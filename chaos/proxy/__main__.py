"""Run the embedded fault proxy as a standalone Toxiproxy-compatible server.

    python -m chaos.proxy [--host 127.0.0.1] [--port 8474] [--seed N] [--ready-file PATH]

Prints one line ``govchaos fault proxy listening on http://HOST:PORT (seed N)`` once the API is
up and, with ``--ready-file``, writes ``{"url": ..., "pid": N, "seed": N}`` there atomically
(temp file + ``os.replace``: a reader never sees half of it). SIGTERM or SIGINT stops it cleanly
(listeners closed, proxied connections dropped) and exits 0. The harness runs it this way, in its
own process (:mod:`chaos.proxy.process`), so the proxy's byte shuffling never waits on the load
generator's event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import tempfile
from pathlib import Path

from chaos.proxy.errors import FaultProxyError
from chaos.proxy.server import FaultProxyServer


def write_ready_file(path: Path, data: dict[str, object]) -> None:
    """Write ``data`` as JSON to ``path`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


async def _serve(host: str, port: int, seed: int | None, ready_file: Path | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with FaultProxyServer(host, port, seed) as server:
        print(f"govchaos fault proxy listening on {server.api_url} (seed {server.seed})", flush=True)
        if ready_file is not None:
            write_ready_file(ready_file, {"url": server.api_url, "pid": os.getpid(),
                                          "seed": server.seed})
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos.proxy", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8474, help="API port (0: the OS picks)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--ready-file", type=Path, default=None,
                        help="write {url, pid, seed} here (atomically) once listening")
    args = parser.parse_args(argv)
    try:
        asyncio.run(_serve(args.host, args.port, args.seed, args.ready_file))
    except FaultProxyError as exc:
        print(f"error[{exc.code}]: {exc.diagnostics()}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
