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
    serve.add_argument("--workers", type=int, default=1, metavar="N",
                       help="worker processes sharing the port (SO_REUSEPORT), one event loop "
                       "each, 1..64 (default 1: one process); above 1 needs audit.directory: "
                       "one audit chain per worker under worker-<i>/, named in workers.json")
    # internal: how the supervisor (gateway.supervisor) starts worker I of --workers N
    serve.add_argument("--worker-index", type=int, default=None, help=argparse.SUPPRESS)
    serve.add_argument("--supervisor-pid", type=int, default=None, help=argparse.SUPPRESS)
    serve.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    import io
    import os
    from pathlib import Path

    from gateway.config import load_config
    from gateway.credentials import resolve_secrets
    from gateway.server import run

    if not 0 <= args.port <= 65535:
        from gateway.errors import ConfigError

        raise ConfigError(f"--port must be within 0..65535, got {args.port}")
    from gateway.workers import check_layout, check_splittable, check_workers, worker_config

    check_workers(args.workers)
    cfg = load_config(args.config)
    ready = Path(args.ready_file) if args.ready_file else None
    if args.workers > 1 and args.worker_index is None:
        return _supervise(args, cfg, ready)
    index = args.worker_index
    if index is None:
        check_layout(cfg, 1, Path(args.config))

    def own(c):  # a worker's config: its own audit chain, its share of budgets (gateway.workers)
        return c if index is None else worker_config(c, index, args.workers)

    if index is not None:
        from gateway.supervisor import die_with_parent

        check_splittable(cfg, Path(args.config))
        die_with_parent(args.supervisor_pid)
    cfg = own(cfg)
    secrets = resolve_secrets(cfg, os.environ)

    def reload():  # SIGHUP: the same file, read again (gateway.server.reload_from)
        new = own(load_config(args.config))
        return new, resolve_secrets(new, os.environ)

    # a worker's listening line would come before its siblings listen: the supervisor prints it
    out = io.StringIO() if index is not None else sys.stdout
    return run(cfg, secrets, host=args.host, port=args.port, ready_file=ready, reload=reload,
               config_path=Path(args.config), reuse_port=index is not None, out=out)


def _supervise(args: argparse.Namespace, cfg, ready) -> int:
    import os
    from pathlib import Path

    from gateway.credentials import resolve_secrets
    from gateway.supervisor import run

    resolve_secrets(cfg, os.environ)  # a missing secret fails here, once, not in N workers

    def argv_for(index: int, port: int, ready_file: Path) -> list[str]:
        return [sys.executable, "-m", "govchaos", "gateway", "serve", "--config", args.config,
                "--host", args.host, "--port", str(port), "--ready-file", str(ready_file),
                "--workers", str(args.workers), "--worker-index", str(index),
                "--supervisor-pid", str(os.getpid())]

    return run(cfg, workers=args.workers, argv_for=argv_for, host=args.host, port=args.port,
               ready_file=ready, config_path=Path(args.config))
