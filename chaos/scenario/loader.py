"""Load a scenario file: YAML with line numbers → validated :class:`Scenario`.

Every error is a :class:`ScenarioError` naming the file, the line of the offending node and the
field path, e.g. ``scenarios/x.yaml:14: faults.0.kind: unknown fault kind 'latncy' (did you
mean 'latency'?)``.

The caller passes the fault kinds to check the faults against (``chaos.faults``'s registry;
this package sits below it), or ``None`` to check the schema only:

>>> from chaos.faults import default_registry
>>> load_scenario("scenarios/provider-outage.yaml", faults=default_registry()).scenario.name  # doctest: +SKIP
'provider-outage'
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml
from pydantic import ValidationError

from chaos.errors import ScenarioError
from chaos.scenario.model import FaultSpec, Scenario
from governance.strict_load import loads_yaml
from governance.errors import Location

PathKey = tuple[str | int, ...]


class _FaultLayer(Protocol):
    @property
    def layer(self) -> str: ...


class FaultCatalog(Protocol):
    """What the loader needs of the fault kinds (:class:`chaos.faults.registry.FaultRegistry`)."""

    def validate(self, fault: FaultSpec) -> None:
        """Raises a ScenarioError whose ``field`` is the path inside the fault entry."""
        ...

    def get(self, name: str) -> _FaultLayer: ...


@dataclass(frozen=True, slots=True)
class LoadedScenario:
    """A validated scenario with where it came from and the digest of its exact bytes."""

    scenario: Scenario
    path: Path
    sha256: str

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def resolve(self, relative: str) -> Path:
        """A path named in the scenario, resolved against the scenario file's directory."""
        candidate = Path(relative)
        return candidate if candidate.is_absolute() else (self.base_dir / candidate).resolve()

    def with_seed(self, seed: int | None) -> "LoadedScenario":
        """The same scenario with its seed overridden (``--seed``)."""
        if seed is None:
            return self
        scenario = self.scenario.model_copy(update={"seed": seed})
        return LoadedScenario(scenario=scenario, path=self.path, sha256=self.sha256)


def load_scenario(path: Path | str, *, faults: FaultCatalog | None) -> LoadedScenario:
    """Read, parse and validate ``path``; its faults against ``faults`` (None: schema only).

    Raises:
        ScenarioError: the file is missing, is not YAML, or does not match the schema, or names
            an unknown fault kind or invalid fault parameters (with file, line and field path).
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ScenarioError(
            f"cannot read scenario: {exc.strerror or exc}", location=Location(str(path))
        ) from exc
    return parse_scenario(raw, path, faults=faults)


def parse_scenario(raw: bytes, path: Path, *, faults: FaultCatalog | None) -> LoadedScenario:
    """Validate scenario bytes as if read from ``path`` (``faults``: as :func:`load_scenario`).

    Raises:
        ScenarioError: as :func:`load_scenario`.
    """
    file = str(path)
    # Strict and bounded: duplicate keys, alias bombs, deep nesting and bad UTF-8 are located
    # ScenarioErrors (a plain safe_load kept the last duplicate and expanded aliases unbounded).
    data, node = loads_yaml(raw, file, ScenarioError)
    lines = node_lines(node) if node is not None else {}
    if not isinstance(data, dict):
        raise ScenarioError(
            "a scenario must be a YAML mapping (name, upstreams, load, faults, ...)",
            location=Location(file, 1),
        )
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise _translate(exc, data, lines, file) from exc
    if faults is not None:
        _check_faults(scenario, faults, lines, file)
    return LoadedScenario(
        scenario=scenario, path=path.resolve(), sha256=hashlib.sha256(raw).hexdigest()
    )


def node_lines(root: yaml.Node) -> dict[PathKey, int]:
    """Map every field path in a composed YAML tree to its 1-based line.

    A mapping value is located at its key's line, which is where a reader looks for it.
    """
    lines: dict[PathKey, int] = {(): root.start_mark.line + 1}
    stack: list[tuple[PathKey, yaml.Node]] = [((), root)]
    while stack:
        prefix, node = stack.pop()
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
                path = (*prefix, key)
                lines[path] = key_node.start_mark.line + 1
                stack.append((path, value_node))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                path = (*prefix, index)
                lines[path] = item.start_mark.line + 1
                stack.append((path, item))
    return lines


def locate(path: PathKey, lines: dict[PathKey, int]) -> int | None:
    """The line of ``path``, or of its nearest ancestor present in the file."""
    for end in range(len(path), -1, -1):
        line = lines.get(path[:end])
        if line is not None:
            return line
    return None


def _data_path(loc: tuple[Any, ...], data: Any) -> PathKey:
    """Drop pydantic's union tags and model names from ``loc`` so it matches the document."""
    path: list[str | int] = []
    current = data
    for part in loc:
        if isinstance(current, dict) and part in current:
            path.append(part)
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and part < len(current):
            path.append(part)
            current = current[part]
        elif isinstance(current, (dict, list)):
            # A tag such as "external" or "function-after[...]": not part of the document,
            # unless it is the missing field itself (then keep it for the message).
            if part == loc[-1] and not str(part).startswith(("function-", "union")):
                path.append(part)
        else:
            break
    return tuple(path)


def _dotted(path: PathKey) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def _translate(
    exc: ValidationError, data: dict[str, Any], lines: dict[PathKey, int], file: str
) -> ScenarioError:
    errors = exc.errors(include_url=False)
    first = errors[0]
    message = str(first.get("msg", "invalid value"))
    path = _data_path(tuple(first.get("loc", ())), data)
    # Cross-reference checks (model validator) carry their field path in the message.
    match = re.match(r"^(?:Value error, )?([a-z_]+(?:\.[a-z0-9_]+)+|[a-z_]+): (.*)$", message)
    if match:
        path = tuple(int(p) if p.isdigit() else p for p in match.group(1).split("."))
        message = match.group(2)
    elif message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    if first.get("type") == "extra_forbidden":
        message = f"unknown field {path[-1]!r}" if path else "unknown field"
    elif first.get("type") == "missing":
        message = "required field is missing"
    more = f" (and {len(errors) - 1} more error(s))" if len(errors) > 1 else ""
    return ScenarioError(
        f"{message}{more}",
        location=Location(file, locate(path, lines), field=_dotted(path)),
    )


def _check_faults(
    scenario: Scenario, registry: FaultCatalog, lines: dict[PathKey, int], file: str
) -> None:
    for index, fault in enumerate(scenario.faults):
        path: PathKey
        try:
            registry.validate(fault)
        except ScenarioError as exc:
            path = ("faults", index, *getattr(exc, "field", ()))
            raise ScenarioError(
                exc.message, location=Location(file, locate(path, lines), field=_dotted(path))
            ) from exc
        if registry.get(fault.kind).layer == "gpu" and (
            scenario.upstream(fault.target).gpu_device is None
        ):
            path = ("faults", index, "target")
            raise ScenarioError(
                f"{fault.kind} needs a GPU-backed target, but upstream {fault.target!r} "
                "declares no gpu_device",
                location=Location(file, locate(path, lines), field=_dotted(path)),
            )
