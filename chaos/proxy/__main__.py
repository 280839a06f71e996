"""Run the embedded fault proxy as a standalone Toxiproxy-compatible server.

    python -m chaos.proxy [--host 127.0.0.1] [--port 8474] [--seed N]

Prints one line ``govchaos fault proxy listening on http://HOST:PORT (seed N)`` once the API is
up, then serves until interrupted. Useful for poking at it with ``toxiproxy-cli``-style clients.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from chaos.proxy.errors import FaultProxyError
from chaos.proxy.server import FaultProxyServer


async def _serve(host: str, port: int, seed: int | None) -> None:
    async with FaultProxyServer(host, port, seed) as server:
        print(f"govchaos fault proxy listening on {server.api_url} (seed {server.seed})", flush=True)
        await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos.proxy", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8474)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    try:
        asyncio.run(_serve(args.host, args.port, args.seed))
    except FaultProxyError as exc:
        print(f"error[{exc.code}]: {exc.diagnostics()}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
