"""`govchaos keys ...` commands.

``govchaos keys generate [--out DIR] [--force] [--json]`` writes an ECDSA P-256 signing key pair
(``govchaos-signing.key``, mode 0600, and ``govchaos-signing.pub``) and prints both paths and
the key id (the sha256 of the DER public key, which signed bundles carry as their key hint).
"""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("keys", help="manage report signing keys")
    parser.set_defaults(func=lambda args: (parser.print_help(sys.stderr), 2)[1])
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    generate = commands.add_parser(
        "generate",
        help="generate an ECDSA P-256 signing key pair",
        description="Write govchaos-signing.key (0600) and govchaos-signing.pub to DIR.",
    )
    generate.add_argument("--out", default=".", metavar="DIR", help="directory (default: .)")
    generate.add_argument(
        "--force", action="store_true", help="replace an existing key pair in DIR"
    )
    generate.add_argument("--json", action="store_true", help="print machine-readable JSON")
    generate.set_defaults(func=_generate)


def _generate(args: argparse.Namespace) -> int:
    import json

    from governance.attest import generate_keypair

    pair = generate_keypair(args.out, force=args.force)
    if args.json:
        print(
            json.dumps(
                {
                    "private_key": str(pair.private_key),
                    "public_key": str(pair.public_key),
                    "key_id": pair.key_id,
                }
            )
        )
    else:
        print(f"private key: {pair.private_key}  (keep it secret; mode 0600)")
        print(f"public key:  {pair.public_key}")
        print(f"key id:      {pair.key_id}")
    return 0
