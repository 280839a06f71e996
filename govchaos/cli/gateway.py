"""`govchaos gateway ...` commands."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("gateway", help="run the reference OpenAI-compatible gateway")
    parser.set_defaults(func=lambda args: (parser.print_help(sys.stderr), 2)[1])
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="run the reference OpenAI-compatible gateway",
        description="Run the reference gateway. Prints 'govchaos gateway listening on URL' once "
        "listening; SIGTERM drains, flushes the audit log and exits 0; SIGHUP reloads the config "
        "and policy bundle (a bad one is rejected, located, and the old one keeps serving).",
    )
    serve.add_argument("--config", required=True, help="gateway config YAML")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port (0: the OS picks; default 8080)")
    serve.add_argument("--ready-file", default=None,
                       help='write {"url": ..., "pid": ...} here once listening (atomically)')
    serve.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    import os
    from pathlib import Path

    from gateway.config import load_config
    from gateway.credentials import resolve_secrets
    from gateway.server import run

    if not 0 <= args.port <= 65535:
        from gateway.errors import ConfigError

        raise ConfigError(f"--port must be within 0..65535, got {args.port}")
    cfg = load_config(args.config)
    secrets = resolve_secrets(cfg, os.environ)
    ready = Path(args.ready_file) if args.ready_file else None

    def reload():  # SIGHUP: the same file, read again (gateway.server.reload_from)
        new = load_config(args.config)
        return new, resolve_secrets(new, os.environ)

    return run(cfg, secrets, host=args.host, port=args.port, ready_file=ready, reload=reload,
               config_path=Path(args.config))
