"""``python -m chaos.providers serve --spec FILE [--ready-file F] [--log-dir D]``.

Exit codes: 0 stopped by SIGTERM/SIGINT, 2 bad spec or an upstream could not listen.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from governance.errors import GovchaosError

    parser = argparse.ArgumentParser(prog="python -m chaos.providers")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    serve = sub.add_parser("serve", help="host simulated upstreams until SIGTERM")
    serve.add_argument("--spec", required=True, help="fleet spec file (YAML or JSON)")
    serve.add_argument("--ready-file", help="write the ready JSON here once listening")
    serve.add_argument("--log-dir", help="directory for <name>.jsonl request logs")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    from chaos.providers.serve import run

    try:
        return run(args.spec, args.ready_file, args.log_dir)
    except GovchaosError as exc:
        print(f"error[{exc.code}]: {exc.diagnostics()}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
