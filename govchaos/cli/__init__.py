"""The ``govchaos`` command line.

Each command group lives in its own module exposing ``register(subparsers)``; handlers take the
parsed ``argparse.Namespace`` and return an exit code. Exceptions become exits in exactly one
place, :func:`main`:

- 0 success / all passed, 1 a check failed, 2 bad usage or invalid input (DESIGN.md §4);
- a :class:`~governance.errors.GovchaosError` prints its ``diagnostics()`` once, no traceback
  unless ``--verbose``;
- Ctrl-C exits 130;
- any other exception is a bug: one ``error[internal_error]`` line (traceback with ``--verbose``)
  and exit 2, never Python's default exit 1, which CI would read as "a check failed".

Command modules import heavy dependencies inside their handlers so ``govchaos --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence

from govchaos.cli import chaos, gateway, init, keys, policy, report
from govchaos.cli.version import VersionAction

GROUPS = (init, policy, gateway, chaos, report, keys)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="govchaos",
        description="Prove that an AI gateway stays governed and available when things break.",
    )
    parser.add_argument("--version", action=VersionAction)
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="show tracebacks for errors"
    )
    sub = parser.add_subparsers(dest="group", metavar="COMMAND")
    for group in GROUPS:
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from governance.errors import GovchaosError

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or usage error (2)
        return int(exc.code or 0)
    handler = getattr(args, "func", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(handler(args) or 0)
    except GovchaosError as exc:
        if args.verbose:
            traceback.print_exc()
        print(f"error[{exc.code}]: {exc.diagnostics()}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: still no bare traceback, and never exit 1 ("a check failed")
        if args.verbose:
            traceback.print_exc()
        print(
            f"error[internal_error]: {type(exc).__name__}: {exc} (this is a govchaos bug; "
            "run with --verbose for the traceback)",
            file=sys.stderr,
        )
        return 2
