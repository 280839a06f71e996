"""Imports go one way: governance <- gateway <- chaos; the CLI sits on top.

Inside ``chaos`` the sub-packages are layered too: the scenario model and the report contract
(``chaos.report``: the ``report.json`` model, the run records, rendering and verification) are
leaves that the runner builds on, and the load generator, the fault proxy and the simulated
upstreams know nothing of the runner that drives them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FORBIDDEN = {
    "governance": {"gateway", "chaos", "govchaos"},
    "gateway": {"chaos", "govchaos"},
    "chaos": {"govchaos"},
}
# Sub-package -> the sub-packages it may never import (function-level imports included).
FORBIDDEN_INSIDE = {
    "chaos.report": {"chaos.runner", "chaos.load", "chaos.faults", "chaos.scenario", "chaos.proxy",
                     "chaos.providers"},
    "chaos.load": {"chaos.runner", "chaos.report", "chaos.faults", "chaos.proxy",
                   "chaos.providers"},
    "chaos.faults": {"chaos.runner", "chaos.report", "chaos.load"},
    # The loader checks faults against the registry its caller passes in.
    "chaos.scenario": {"chaos.faults", "chaos.runner", "chaos.report", "chaos.load",
                       "chaos.proxy", "chaos.providers"},
    "chaos.proxy": {"chaos.runner", "chaos.report", "chaos.load", "chaos.faults",
                    "chaos.scenario", "chaos.providers"},
    "chaos.providers": {"chaos.runner", "chaos.report", "chaos.load", "chaos.faults",
                        "chaos.scenario", "chaos.proxy"},
}


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
            # ``from chaos import runner`` imports the sub-package chaos.runner
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
    return modules


def _offenders(package: str, forbidden: set[str]) -> list[str]:
    offenders = []
    for path in sorted((REPO / package.replace(".", "/")).rglob("*.py")):
        bad = {f for f in forbidden
               for module in _imported_modules(path)
               if module == f or module.startswith(f + ".")}
        if bad:
            offenders.append(f"{path.relative_to(REPO)} imports {sorted(bad)}")
    return offenders


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_dependency_direction(package: str) -> None:
    offenders = _offenders(package, FORBIDDEN[package])
    assert not offenders, "\n".join(offenders)


@pytest.mark.parametrize("package", sorted(FORBIDDEN_INSIDE))
def test_dependency_direction_inside_chaos(package: str) -> None:
    offenders = _offenders(package, FORBIDDEN_INSIDE[package])
    assert not offenders, "\n".join(offenders)


def test_a_forbidden_import_is_found(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from chaos.runner.run import ChaosRunner\n", encoding="utf-8")
    assert _imported_modules(module) >= {"chaos.runner.run"}
