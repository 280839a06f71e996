"""Policy bundles: a directory of Rego modules and data documents, loaded and digested.

A bundle is what ``opa run DIR`` would load (ARCHITECTURE.md, "Policy bundle layout"):

- every ``*.rego`` file below the root is a module (``*_test.rego`` files are test modules:
  loaded for ``govchaos policy test``, left out of decision evaluation);
- every ``data/*.yaml|*.yml|*.json`` file is a document deep-merged at the root of ``data``;
  the same leaf defined by two files is a :class:`~governance.errors.PolicyInputError` naming
  both files and the key path;
- ``cases/*.yaml`` are decision test cases (see :mod:`governance.engine.cases`), not data.

Loading checks what can be checked without parsing Rego: a module nesting brackets deeper than
:data:`~governance.engine.rego_scan.MAX_NESTING` is refused here, located, because parsing it
would take exponential time. Everything that needs a parse (syntax, recursion, conflicting
rules, the entry point) is checked by the engines before they compile, in a bounded child
process (:mod:`governance.engine.base`, :func:`~governance.engine.regorus_engine.check_modules`).

The digest is sha256 over every file the bundle consists of (modules, data, cases), in sorted
relative-path order, each as ``path NUL content NUL`` — so a rename changes it too.

>>> bundle = load_bundle("policies")                       # doctest: +SKIP
>>> bundle.digest, [m.path for m in bundle.decision_modules]  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from governance.engine.rego_scan import check_nesting
from governance.errors import Location, PolicyInputError
from governance.strict_load import loads_json, loads_yaml

DATA_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True, slots=True)
class RegoModule:
    """One Rego source file. ``path`` is relative to the bundle root (what errors print)."""

    path: str
    source: str

    @property
    def is_test(self) -> bool:
        return self.path.endswith("_test.rego")


@dataclass(frozen=True, slots=True)
class PolicyBundle:
    """Everything an engine needs to compile a policy; immutable so a reload can swap it whole."""

    root: str
    modules: tuple[RegoModule, ...]
    data: Mapping[str, Any]
    files: tuple[str, ...]
    digest: str
    case_files: tuple[str, ...] = ()
    data_json: str = field(default="{}", repr=False)

    @property
    def decision_modules(self) -> tuple[RegoModule, ...]:
        """Modules used to answer decisions (tests left out: they only add rules nobody queries)."""
        return tuple(m for m in self.modules if not m.is_test)

    @property
    def test_modules(self) -> tuple[RegoModule, ...]:
        return tuple(m for m in self.modules if m.is_test)

    def with_module(self, path: str, source: str) -> "PolicyBundle":
        """A copy with one module added or replaced (used by the decision server's PUT)."""
        kept = [m for m in self.modules if m.path != path]
        return build_bundle(self.root, [*kept, RegoModule(path, source)], self.data)

    def without_module(self, path: str) -> "PolicyBundle":
        return build_bundle(self.root, [m for m in self.modules if m.path != path], self.data)

    def with_data(self, data: Mapping[str, Any]) -> "PolicyBundle":
        return build_bundle(self.root, list(self.modules), data)


def build_bundle(
    root: str,
    modules: Iterable[RegoModule],
    data: Mapping[str, Any],
    *,
    extra_files: Mapping[str, bytes] | None = None,
    case_files: tuple[str, ...] = (),
) -> PolicyBundle:
    """Assemble a bundle from parts already in memory, computing its digest and file list.

    Raises:
        PolicyCompileError: a module nests brackets deeper than the parser can take in bounded
            time (:func:`governance.engine.rego_scan.check_nesting`), located path:line:col.
    """
    mods = tuple(sorted(modules, key=lambda m: m.path))
    check_nesting((m.path, m.source) for m in mods)
    if extra_files is not None:
        contents = dict(extra_files)
    else:
        contents = {m.path: m.source.encode("utf-8") for m in mods}
        # In-memory data (server PUTs) is digested as its canonical JSON.
        contents["data.json"] = json.dumps(data, sort_keys=True).encode("utf-8")
    return PolicyBundle(
        root=root,
        modules=mods,
        data=data,
        files=tuple(sorted(contents)),
        digest=digest_files(contents),
        case_files=case_files,
        data_json=json.dumps(data, separators=(",", ":")),
    )


def digest_files(contents: Mapping[str, bytes]) -> str:
    """sha256 over sorted relative paths and contents; ``sha256:<hex>``."""
    h = hashlib.sha256()
    for rel in sorted(contents):
        h.update(rel.encode("utf-8"))
        h.update(b"\0")
        h.update(contents[rel])
        h.update(b"\0")
    return "sha256:" + h.hexdigest()


def load_bundle(*paths: str | Path) -> PolicyBundle:
    """Load a bundle from one or more directories or ``.rego`` files.

    Raises:
        PolicyInputError: a path does not exist, there is no Rego module, or a data file does not
            parse / is not a mapping / conflicts with another data file.
    """
    if not paths:
        paths = ("policies",)
    modules: list[RegoModule] = []
    data_files: list[tuple[str, Path]] = []
    case_files: list[str] = []
    raw: dict[str, bytes] = {}
    roots = [Path(p) for p in paths]
    for root in roots:
        if not root.exists():
            raise PolicyInputError("no such file or directory", location=Location(str(root)))
        if root.is_file():
            _add_file(root, root.parent, roots, modules, data_files, case_files, raw, single=True)
            continue
        for path in sorted(root.rglob("*")):
            # Hidden files and folders *inside* the bundle are skipped; the root's own path may
            # contain "..", or live under a dot-folder, and must still load.
            hidden = any(part.startswith(".") for part in path.relative_to(root).parts)
            if path.is_file() and not hidden:
                _add_file(path, root, roots, modules, data_files, case_files, raw, single=False)
    if not modules:
        where = ", ".join(str(r) for r in roots)
        raise PolicyInputError("no .rego modules found", location=Location(where))
    data: dict[str, Any] = {}
    owners: dict[tuple[str, ...], str] = {}
    for display, path in data_files:
        doc = _parse_data_file(path, display)
        _deep_merge(data, doc, (), display, owners)
    return build_bundle(
        str(roots[0]),
        modules,
        data,
        extra_files=raw,
        case_files=tuple(case_files),
    )


def _display(path: Path, root: Path, roots: list[Path]) -> str:
    # Paths in errors and digests are relative to the root given, prefixed by it when several
    # roots were given so two roots' files cannot collide.
    rel = path.relative_to(root).as_posix()
    return rel if len(roots) == 1 else f"{root.as_posix()}/{rel}"


def _add_file(
    path: Path,
    root: Path,
    roots: list[Path],
    modules: list[RegoModule],
    data_files: list[tuple[str, Path]],
    case_files: list[str],
    raw: dict[str, bytes],
    *,
    single: bool,
) -> None:
    display = path.as_posix() if single else _display(path, root, roots)
    parent = path.parent.name
    if path.suffix == ".rego":
        content = _read(path)
        try:
            source = content.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PolicyInputError(
                f"not UTF-8 text: {exc.reason}", location=Location(str(path))
            ) from exc
        modules.append(RegoModule(path.as_posix(), source))
        raw[display] = content
    elif path.suffix in DATA_SUFFIXES and parent == "data":
        data_files.append((path.as_posix(), path))
        raw[display] = _read(path)
    elif path.suffix in (".yaml", ".yml") and parent == "cases":
        case_files.append(path.as_posix())
        raw[display] = _read(path)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise PolicyInputError(
            f"cannot read: {exc.strerror or exc}", location=Location(str(path))
        ) from exc


def _parse_data_file(path: Path, display: str) -> dict[str, Any]:
    raw = _read(path)
    if path.suffix == ".json":
        doc = loads_json(raw, display, PolicyInputError)
    else:
        doc, _ = loads_yaml(raw, display, PolicyInputError)
        try:  # YAML's .nan/.inf have no JSON or Rego equivalent: the engine would reject them later
            json.dumps(doc, allow_nan=False)
        except ValueError as exc:
            raise PolicyInputError(
                "a number is .nan or .inf: data must be finite numbers (JSON has no NaN/Infinity)",
                location=Location(display),
            ) from exc
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise PolicyInputError(
            f"a data file must hold a mapping at its top level, not {type(doc).__name__}",
            location=Location(display),
        )
    return doc


def _deep_merge(
    into: dict[str, Any],
    doc: Mapping[str, Any],
    prefix: tuple[str, ...],
    source: str,
    owners: dict[tuple[str, ...], str],
) -> None:
    for key, value in doc.items():
        if not isinstance(key, str):
            raise PolicyInputError(
                f"data keys must be strings, got {key!r}",
                location=Location(source, field=".".join((*prefix, str(key)))),
            )
        path = (*prefix, key)
        if key not in into:
            into[key] = _copy(value)
            _own(value, path, source, owners)
            continue
        existing = into[key]
        if isinstance(existing, dict) and isinstance(value, dict):
            _deep_merge(existing, value, path, source, owners)
            continue
        first = owners.get(path) or _any_owner(path, owners) or "another data file"
        raise PolicyInputError(
            f"data key '{'.'.join(path)}' is defined in both {first} and {source}",
            location=Location(source, field=".".join(path)),
        )


def _own(value: Any, path: tuple[str, ...], source: str, owners: dict) -> None:
    owners[path] = source
    if isinstance(value, dict):
        for k, v in value.items():
            _own(v, (*path, str(k)), source, owners)


def _any_owner(path: tuple[str, ...], owners: dict) -> str | None:
    for key, owner in owners.items():
        if key[: len(path)] == path:
            return owner
    return None


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    return value
