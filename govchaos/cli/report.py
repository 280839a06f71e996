"""`govchaos report ...` commands."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("report", help="report commands")
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])
    parser.add_subparsers(dest="command", metavar="COMMAND")
