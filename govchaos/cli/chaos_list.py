"""`govchaos chaos list [DIR]`: the scenarios and what each proves.

Without ``DIR`` it lists the standard suite shipped with govchaos (``govchaos chaos run
builtin:NAME`` runs one); with ``DIR``, the scenarios in that folder. The text comes from each
scenario's ``proves`` (or, where a scenario has none, its ``description``).
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path


def register(commands: argparse._SubParsersAction) -> None:
    lister = commands.add_parser(
        "list",
        help="list the standard scenarios (or those in DIR) and what each proves",
        description="List scenarios by name with what each proves. Without DIR: the standard "
        "suite shipped with govchaos; run one with `govchaos chaos run builtin:NAME`.",
    )
    lister.add_argument("directory", nargs="?", metavar="DIR",
                        help="a folder of scenario YAML files (default: the shipped suite)")
    lister.add_argument("--json", action="store_true",
                        help="print a JSON array of {name, file, description, proves, run}")
    lister.set_defaults(func=_list)


def _list(args: argparse.Namespace) -> int:
    from chaos.errors import ChaosError
    from govchaos.builtin import load_builtin_scenarios

    directory = Path(args.directory) if args.directory else None
    if directory is not None and not directory.is_dir():
        raise ChaosError(f"{directory}: not a directory of scenarios", code="usage", exit_code=2)
    scenarios = load_builtin_scenarios(directory)
    if directory is not None and not scenarios:
        raise ChaosError(f"{directory}: no scenario files (*.yaml) here", code="usage",
                         exit_code=2)

    def run_ref(name: str, path: Path) -> str:
        return f"builtin:{name}" if directory is None else str(path)

    if args.json:
        print(json.dumps([
            {"name": s.name, "file": str(s.path), "description": s.description,
             "proves": s.proves, "run": f"govchaos chaos run {run_ref(s.name, s.path)}"}
            for s in scenarios
        ], indent=2))
        return 0
    where = "shipped with govchaos" if directory is None else f"in {directory}"
    example = "builtin:NAME" if directory is None else f"{directory}/NAME.yaml"
    print(f"{len(scenarios)} scenarios {where}; run one with `govchaos chaos run {example}`:")
    for s in scenarios:
        print(f"\n{s.name}")
        text = s.proves or s.description or "(no description)"
        print(textwrap.fill(text, width=96, initial_indent="    ", subsequent_indent="    "))
    sys.stdout.flush()
    return 0
