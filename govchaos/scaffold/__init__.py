"""Scaffold a governance repository from the shipped content (``govchaos init DIR``).

The repository gets the shipped policy bundle (rules, tests, cases, data), the standard
scenarios with their gateway config template, a reference ``gateway.yaml`` with its demo
``keys.yaml``, a README explaining the layout, and CI workflows for GitHub Actions and GitLab CI
(the templates beside this module).

Paths inside copied files are rewritten to the new layout: every path field that pointed at
shipped content (a scenario's ``policy.bundle``, the gateway config's ``policy.bundle``,
``audit.path``, ``auth.keys_file``, ...) is recomputed from where that content lands, and the
written scaffold is loaded back to check that each one resolves there.

>>> files = plan(Path("demo"))                                  # doctest: +SKIP
>>> write(Path("demo"), files, force=False)                     # doctest: +SKIP

Nothing is ever overwritten without ``force``; a clash is a :class:`ScaffoldError` (exit 2)
naming the files, and nothing is written.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import yaml

from governance.errors import GovchaosError, Location

TEMPLATES = Path(__file__).resolve().parent
GITHUB_WORKFLOW = PurePosixPath(".github/workflows/govchaos.yml")
GITLAB_CI = PurePosixPath(".gitlab-ci.yml")
#: Where shipped example files land in a scaffold (content-root-relative → scaffold-relative).
EXAMPLE_FILES = {"examples/gateway.yaml": "gateway.yaml", "examples/keys.yaml": "keys.yaml"}
#: Path fields rewritten per kind of copied file (mapping keys from the document root).
SCENARIO_PATH_FIELDS = (("policy", "bundle"), ("target", "config_template"))
GATEWAY_PATH_FIELDS = (("policy", "bundle"), ("audit", "path"), ("auth", "keys_file"),
                       ("gpu", "control_file"))
# Comments in examples/gateway.yaml that name the source checkout's paths.
GATEWAY_COMMENT_EDITS = (
    ("--config examples/gateway.yaml", "--config gateway.yaml"),
    ("Full reference: docs/gateway.md.", "Full reference: docs/gateway.md in govchaos's docs."),
)
_PLAIN_SCALAR = re.compile(r"[A-Za-z0-9_./-]+")


class ScaffoldError(GovchaosError):
    """``govchaos init`` cannot write the scaffold (clashing files, a file where a folder must
    be) or wrote one that does not hold together (a bug)."""

    code = "init_error"
    exit_code = 2


@dataclass(frozen=True, slots=True)
class PlannedFile:
    """One file of the scaffold: its path relative to the target folder and its bytes."""

    path: PurePosixPath
    content: bytes


def plan(dest: Path) -> list[PlannedFile]:
    """Every file ``govchaos init dest`` writes, in memory; nothing touches the disk.

    Raises:
        BuiltinError: the shipped content is missing from this installation.
        ScenarioError: a shipped scenario does not load (a packaging bug).
    """
    from govchaos import __version__
    from govchaos.builtin import content_root, load_builtin_scenarios, scenario_files

    root = content_root()
    dest = dest.resolve()
    files: list[PlannedFile] = []
    for source in sorted((root / "policies").rglob("*")):
        if source.is_file() and "__pycache__" not in source.parts:
            rel = PurePosixPath(source.relative_to(root).as_posix())
            files.append(PlannedFile(rel, source.read_bytes()))
    scenarios = set(scenario_files())
    for source in sorted((root / "scenarios").glob("*.yaml")):
        rel = PurePosixPath("scenarios") / source.name
        text = source.read_text(encoding="utf-8")
        if source in scenarios:
            text = rewrite_paths(text, SCENARIO_PATH_FIELDS, source, dest / rel, root, dest)
        files.append(PlannedFile(rel, text.encode("utf-8")))
    for shipped, target in EXAMPLE_FILES.items():
        source = root / shipped
        text = source.read_text(encoding="utf-8")
        if target == "gateway.yaml":
            text = rewrite_paths(text, GATEWAY_PATH_FIELDS, source, dest / target, root, dest)
            for old, new in GATEWAY_COMMENT_EDITS:
                text = text.replace(old, new)
        files.append(PlannedFile(PurePosixPath(target), text.encode("utf-8")))

    listed = load_builtin_scenarios()
    requirement = f"govchaos=={__version__}" if "+" not in __version__ else "govchaos"
    values = {
        "@govchaos_version@": __version__,
        "@govchaos_requirement@": requirement,
        "@scenario_matrix@": "\n".join(f"          - {s.name}" for s in listed),
        "@scenario_table@": _scenario_table(listed),
    }
    for template, target in (
        ("README.md", PurePosixPath("README.md")),
        ("github-workflow.yml", GITHUB_WORKFLOW),
        ("gitlab-ci.yml", GITLAB_CI),
        ("gitignore", PurePosixPath(".gitignore")),
    ):
        text = (TEMPLATES / template).read_text(encoding="utf-8")
        for token, value in values.items():
            text = text.replace(token, value)
        files.append(PlannedFile(target, text.encode("utf-8")))
    return files


def write(dest: Path, files: list[PlannedFile], *, force: bool) -> list[tuple[str, PurePosixPath]]:
    """Write ``files`` under ``dest``; return ``(created|overwrote, path)`` per file.

    Checks every path before writing any: without ``force`` an existing file is a clash; a
    folder where a file goes, or a file where a folder goes, is a clash even with ``force``.
    A symlink is replaced, never written through. Each file is written atomically.

    Raises:
        ScaffoldError: a clash (the message lists the paths; nothing was written), or the
            written scaffold does not load back as planned.
    """
    if dest.exists() and not dest.is_dir():
        raise ScaffoldError("exists and is not a directory", location=Location(str(dest)))
    existing: list[str] = []
    blocked: list[str] = []
    for f in files:
        target = dest / f.path
        for parent in list(f.path.parents)[:-1]:
            p = dest / parent
            if (p.exists() or p.is_symlink()) and not p.is_dir():
                blocked.append(f"{parent}/ (a file is in the way of a folder)")
        if target.is_symlink() or target.is_file():
            existing.append(str(f.path))
        elif target.exists():
            blocked.append(f"{f.path} (a folder is in the way of a file)")
    if blocked:
        listed = ", ".join(sorted(set(blocked))[:10])
        raise ScaffoldError(f"cannot scaffold here: {listed}; nothing was written",
                            code="init_conflict", location=Location(str(dest)))
    if existing and not force:
        listed = _summarize(existing)
        raise ScaffoldError(
            f"{len(existing)} file(s) already exist: {listed}; nothing was written "
            "(--force overwrites them)",
            code="init_conflict", location=Location(str(dest)),
        )
    done: list[tuple[str, PurePosixPath]] = []
    overwriting = set(existing)
    for f in files:
        target = dest / f.path
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink():
            target.unlink()
        _write_atomic(target, f.content)
        done.append(("overwrote" if str(f.path) in overwriting else "created", f.path))
    check(dest)
    return done


def check(dest: Path) -> None:
    """Load the written scaffold back: every scenario's bundle and template, and gateway.yaml's
    bundle and keys file, resolve inside ``dest``.

    Raises:
        ScaffoldError: something resolves elsewhere (a bug in the rewriting; code
            ``init_internal``), or a written file does not load.
    """
    from chaos.faults import default_registry
    from chaos.scenario import load_scenario
    from gateway.config import load_config
    from govchaos.builtin import scenario_files

    dest = dest.resolve()
    policies = dest / "policies"
    problems: list[str] = []
    for path in scenario_files(dest / "scenarios"):
        loaded = load_scenario(path, faults=default_registry())
        bundle = loaded.resolve(loaded.scenario.policy.bundle)
        if bundle != policies:
            problems.append(f"{path.name}: policy.bundle resolves to {bundle}")
        target = loaded.scenario.target
        template = getattr(target, "config_template", None)
        if template is not None and not loaded.resolve(template).is_relative_to(dest):
            problems.append(f"{path.name}: target.config_template resolves outside {dest}")
    cfg = load_config(dest / "gateway.yaml")
    if cfg.policy.bundle is None or Path(cfg.policy.bundle).resolve() != policies:
        problems.append(f"gateway.yaml: policy.bundle resolves to {cfg.policy.bundle}")
    keys_file = cfg.auth.keys_file
    if keys_file is not None and not Path(keys_file).resolve().is_relative_to(dest):
        problems.append(f"gateway.yaml: auth.keys_file resolves to {keys_file}")
    if problems:
        raise ScaffoldError("the scaffold does not hold together (a govchaos bug): "
                            + "; ".join(problems), code="init_internal",
                            location=Location(str(dest)))


def rewrite_paths(text: str, fields: tuple[tuple[str, ...], ...], source: Path,
                  target: Path, root: Path, dest: Path) -> str:
    """``text`` (YAML, read from ``source``) with each path field in ``fields`` that points
    at shipped content rewritten to point where that content lands under ``dest``, relative
    to ``target``'s folder. Fields that are absent, not strings, or point outside the shipped
    content are left alone; comments and formatting are kept (a shorter value is padded so an
    aligned trailing comment stays aligned).
    """
    node = yaml.compose(text)
    edits: list[tuple[int, int, str]] = []
    for field in fields:
        scalar = _find_scalar(node, field)
        if scalar is None:
            continue
        shipped = (source.parent / scalar.value).resolve()
        try:
            rel = shipped.relative_to(root.resolve()).as_posix()
        except ValueError:
            continue  # points somewhere of the user's own: not ours to move
        new_abs = dest / EXAMPLE_FILES.get(rel, rel)
        new = Path(os.path.relpath(new_abs, target.parent)).as_posix()
        if new != scalar.value:
            edits.append((scalar.start_mark.index, scalar.end_mark.index, new))
    for start, end, new in sorted(edits, reverse=True):
        rendered = new if _PLAIN_SCALAR.fullmatch(new) else json.dumps(new)
        old_len = end - start
        line_end = text.find("\n", end)
        rest = text[end:line_end if line_end != -1 else len(text)]
        if len(rendered) < old_len and re.match(r"\s+#", rest):
            rendered = rendered.ljust(old_len)
        text = text[:start] + rendered + text[end:]
    return text


def _find_scalar(node: yaml.Node | None, field: tuple[str, ...]) -> yaml.ScalarNode | None:
    for key in field:
        if not isinstance(node, yaml.MappingNode):
            return None
        node = next((v for k, v in node.value
                     if isinstance(k, yaml.ScalarNode) and k.value == key), None)
    if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:str":
        return node
    return None


def _summarize(paths: list[str]) -> str:
    """``README.md, policies/ (31 files), .github/workflows/govchaos.yml``: every path, with
    folders of several files counted."""
    groups: dict[str, list[str]] = {}
    for path in paths:
        groups.setdefault(PurePosixPath(path).parts[0], []).append(path)
    return ", ".join(members[0] if len(members) == 1 else f"{head}/ ({len(members)} files)"
                     for head, members in groups.items())


def _scenario_table(scenarios: list) -> str:
    rows = ["| scenario | what it proves |", "|---|---|"]
    for s in scenarios:
        text = (s.proves or s.description or "").replace("|", "\\|")
        rows.append(f"| `scenarios/{s.name}.yaml` | {text} |")
    return "\n".join(rows)


def _write_atomic(target: Path, content: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
