"""`govchaos init DIR [--force]`: scaffold a governance repository.

Writes the shipped policy bundle (``policies/``, with its tests, cases and data), the standard
scenarios (``scenarios/``, bundle paths rewritten to the new layout), ``gateway.yaml`` and its
demo ``keys.yaml``, a ``README.md`` explaining the layout, ``.gitignore``, and CI workflows for
GitHub Actions (``.github/workflows/govchaos.yml``) and GitLab CI (``.gitlab-ci.yml``). Exit 0,
or 2 when a file already exists (nothing is written; ``--force`` overwrites) or something is
in the way. See :mod:`govchaos.scaffold`.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "init",
        help="scaffold a governance repository: policies, scenarios, gateway config, CI",
        description="Scaffold DIR as a governance repository: the shipped policy bundle "
        "(policies/ with tests, cases, data), the standard chaos scenarios (scenarios/), "
        "gateway.yaml, a README.md explaining the layout, and CI workflows for GitHub Actions "
        "and GitLab CI that run the policy tests and the chaos suite and keep the signed "
        "reports. Never overwrites a file unless --force; exit 2 names the clashing files.",
    )
    parser.add_argument("directory", metavar="DIR", help="the repository folder (created if missing)")
    parser.add_argument("--force", action="store_true", help="overwrite files that already exist")
    parser.set_defaults(func=_init)


def _init(args: argparse.Namespace) -> int:
    from govchaos.scaffold import plan, write

    dest = Path(args.directory)
    files = plan(dest)
    done = write(dest, files, force=args.force)
    actions = Counter(action for action, _ in done)
    groups = Counter(path.parts[0] + "/" if len(path.parts) > 1 else str(path) for _, path in done)
    parts = [f"{name} ({count})" if name.endswith("/") else name for name, count in groups.items()]
    summary = ", ".join(f"{n} {a}" for a, n in sorted(actions.items()))
    print(f"govchaos init {dest}: {len(done)} files ({summary}): {', '.join(parts)}")
    cd = f"cd {dest}" if str(dest) != "." else None
    steps = [s for s in (
        cd,
        "govchaos policy test policies/",
        "govchaos chaos run scenarios/private-gpu-loss-pii.yaml",
        "govchaos report verify reports/<run>/",
    ) if s]
    print("next:\n  " + "\n  ".join(steps))
    sys.stdout.flush()
    return 0
