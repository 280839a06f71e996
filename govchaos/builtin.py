"""The shipped content — policy bundle, scenarios, example configs, JSON Schemas — by name.

The standard suite must work after ``pip install govchaos``, without a checkout, so the wheel
carries the repository's top-level ``policies/``, ``scenarios/``, ``examples/`` and ``schemas/``
folders as package data under ``govchaos/_builtin/`` (``setup.py`` copies them at build time;
git keeps one copy of each file). In a source checkout or an editable install that folder does
not exist and the checkout's own folders are used, so edits show up without a rebuild.

The layout under the content root is the repository's, which is why a builtin scenario's
``policy: {bundle: ../policies}`` resolves to the builtin bundle with no rewriting.

A command-line argument names shipped content with the ``builtin:`` prefix:

>>> resolve("builtin:policies").name
'policies'
>>> resolve("builtin:private-gpu-loss-pii", kind="scenario").name
'private-gpu-loss-pii.yaml'
>>> resolve("scenarios/x.yaml", kind="scenario")  # not builtin: returned unchanged
PosixPath('scenarios/x.yaml')

Every failure is a :class:`BuiltinError` (exit 2) that lists or suggests the known names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from governance.errors import GovchaosError, Location
from governance.registry import did_you_mean

PREFIX = "builtin:"
#: The top-level folders the wheel ships (setup.py copies exactly these).
CONTENT_DIRS = ("policies", "scenarios", "examples", "schemas")
#: Files in scenarios/ that are not scenarios.
TEMPLATE_SUFFIX = ".template.yaml"

Kind = Literal["scenario", "bundle", "file"]


class BuiltinError(GovchaosError):
    """A ``builtin:`` name that names nothing, or an installation without its content."""

    code = "unknown_builtin"
    exit_code = 2


@dataclass(frozen=True, slots=True)
class BuiltinScenario:
    """One shipped scenario: its name (the file stem), file, and what it proves."""

    name: str
    path: Path
    description: str
    proves: str


def content_root() -> Path:
    """The folder holding ``policies/``, ``scenarios/``, ``examples/`` and ``schemas/``.

    Raises:
        BuiltinError: neither the packaged copy nor a source checkout is there (a broken
            installation).
    """
    here = Path(__file__).resolve().parent
    packaged = here / "_builtin"
    if packaged.is_dir():
        return packaged
    checkout = here.parent
    if (checkout / "pyproject.toml").is_file() and all(
        (checkout / name).is_dir() for name in CONTENT_DIRS
    ):
        return checkout
    raise BuiltinError(
        f"this govchaos installation has no shipped content ({packaged} is missing and "
        f"{checkout} is not a source checkout); reinstall govchaos from its wheel",
        code="builtin_content_missing",
    )


def is_builtin(ref: str | Path) -> bool:
    return isinstance(ref, str) and ref.startswith(PREFIX)


def scenario_files(directory: Path | None = None) -> list[Path]:
    """The scenario files in ``directory`` (default: the shipped suite), sorted, templates
    excluded."""
    folder = directory if directory is not None else content_root() / "scenarios"
    return sorted(
        p for p in folder.glob("*.yaml") if p.is_file() and not p.name.endswith(TEMPLATE_SUFFIX)
    )


def scenario_names() -> list[str]:
    """Names of the shipped scenarios (``builtin:<name>`` runs one)."""
    return [p.stem for p in scenario_files()]


def resolve(ref: str | Path, *, kind: Kind = "file") -> Path:
    """The path ``ref`` names: a ``builtin:`` name inside the shipped content, any other
    string as the path it is.

    ``kind="scenario"`` also accepts a bare scenario name (``builtin:provider-outage``);
    ``kind="bundle"`` expects a policy bundle folder (``builtin:policies``). Any kind accepts
    a path relative to the content root (``builtin:examples/gateway.yaml``).

    Raises:
        BuiltinError: the name is empty, leaves the content root, or names nothing there.
    """
    if not is_builtin(ref):
        return Path(ref)
    name = str(ref)[len(PREFIX):].strip("/")
    root = content_root()
    if not name:
        raise BuiltinError(f"name what to use, e.g. {_examples(kind)}",
                           location=Location(str(ref)))
    parts = Path(name).parts
    if ".." in parts or Path(name).is_absolute():
        raise BuiltinError("a builtin name stays inside the shipped content",
                           location=Location(str(ref)))
    if kind == "scenario" and len(parts) == 1 and not name.endswith(".yaml"):
        candidate = root / "scenarios" / f"{name}.yaml"
        if candidate.is_file():
            return candidate
        raise BuiltinError(
            f"no shipped scenario named {name!r}{did_you_mean(name, scenario_names())}; "
            f"`govchaos chaos list` shows them: {', '.join(scenario_names())}",
            location=Location(str(ref)),
        )
    candidate = root / name
    if kind == "bundle" and candidate.is_dir():
        return candidate
    if kind != "bundle" and candidate.is_file():
        return candidate
    known = _known_names(root, kind)
    raise BuiltinError(
        f"names no shipped {'policy bundle' if kind == 'bundle' else 'file'}"
        f"{did_you_mean(name, known)}; try {_examples(kind)}",
        location=Location(str(ref)),
    )


def resolve_all(refs: list[str], *, kind: Kind) -> list[str]:
    """:func:`resolve` for a list of CLI arguments, returned as strings (argparse-shaped)."""
    return [str(resolve(ref, kind=kind)) for ref in refs]


def load_builtin_scenarios(directory: Path | None = None) -> list[BuiltinScenario]:
    """The scenarios in ``directory`` (default: the shipped suite) with what each proves.

    Raises:
        ScenarioError: a scenario file does not load (file, line, field).
    """
    from chaos.faults import default_registry
    from chaos.scenario import load_scenario

    out: list[BuiltinScenario] = []
    for path in scenario_files(directory):
        scenario = load_scenario(path, faults=default_registry()).scenario
        out.append(BuiltinScenario(
            name=path.stem, path=path,
            description=" ".join(scenario.description.split()),
            proves=" ".join((scenario.proves or "").split()),
        ))
    return out


def _known_names(root: Path, kind: Kind) -> list[str]:
    if kind == "bundle":
        return ["policies"]
    names = [str(p.relative_to(root)) for d in CONTENT_DIRS if (root / d).is_dir()
             for p in sorted((root / d).rglob("*")) if p.is_file()]
    return names + (scenario_names() if kind == "scenario" else [])


def _examples(kind: Kind) -> str:
    return {
        "scenario": "builtin:private-gpu-loss-pii",
        "bundle": "builtin:policies",
        "file": "builtin:examples/gateway.yaml",
    }[kind]
