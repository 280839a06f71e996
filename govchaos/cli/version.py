"""`govchaos --version`: govchaos, the policy engines and the report schema, as auditors quote them.

    govchaos 0.1.0
    report schema_version 1
    engine regorus 0.13.0 (gordon-to-regorus)
    engine regopy 1.5.2 (regopy)
    engine opa-go 0.4.4 (opa-golib-python-bindings, OPA v1.20.2)
    opa REST client 3.0.0 (opa-python-client)
    python 3.11.7 (CPython)

An engine counts as installed when its module imports; its version is that of the distribution
that provides the module (the same numbers ``pip`` shows). opa-go embeds the real OPA as a Go
c-shared library; the OPA version is read from the Go build information in that library.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata as metadata
import mmap
import platform
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

#: (engine name, import name) for every in-process engine govchaos can use.
ENGINES = (("regorus", "regorus"), ("regopy", "regopy"), ("opa-go", "opa_bindings"))
_GO_OPA_DEP = re.compile(rb"dep\tgithub\.com/open-policy-agent/opa\t(v\d+\.\d+\.\d+[\w.+-]*)")


class VersionAction(argparse.Action):
    """``--version``: print :func:`version_lines` and exit 0 (argparse's own action takes a
    fixed string; these numbers are found at run time)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS,
                 default: Any = argparse.SUPPRESS, help: str | None = None) -> None:
        super().__init__(option_strings, dest=dest, default=default, nargs=0,
                         help=help or "print govchaos, engine and report schema versions")

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        print("\n".join(version_lines()))
        parser.exit(0)


def version_lines() -> list[str]:
    from chaos.report.model import SCHEMA_VERSION
    from govchaos import __version__

    lines = [f"govchaos {__version__}", f"report schema_version {SCHEMA_VERSION}"]
    for engine, module in ENGINES:
        lines.append(f"engine {engine} {engine_version(module)}")
    client = _distribution_version("opa-python-client")
    lines.append(f"opa REST client {client} (opa-python-client)" if client
                 else "opa REST client not installed (opa-python-client)")
    lines.append(f"python {platform.python_version()} ({platform.python_implementation()})")
    return lines


def engine_version(module: str) -> str:
    """``"<version> (<distribution>[, OPA vX])"``, or ``"not installed (...)"`` when the module
    does not import."""
    try:
        imported = importlib.import_module(module)
    except Exception as exc:  # ImportError, or a native library that fails to load
        hint = {"opa_bindings": "pip install --ignore-requires-python "
                "opa-golib-python-bindings==0.4.4"}.get(module, "")
        reason = f"{type(exc).__name__}: {exc}" if not isinstance(exc, ModuleNotFoundError) else ""
        detail = "; ".join(x for x in (reason, hint) if x)
        return "not installed" + (f" ({detail})" if detail else "")
    dists = metadata.packages_distributions().get(module, [])
    dist = dists[0] if dists else None
    version = (_distribution_version(dist) if dist else None) or getattr(
        imported, "__version__", "unknown version")
    extra = [dist or f"module {module}"]
    if module == "opa_bindings":
        opa = embedded_opa_version(imported)
        extra.append(f"OPA {opa}" if opa else "OPA version not recorded in the library")
    return f"{version} ({', '.join(extra)})"


def embedded_opa_version(module: Any) -> str | None:
    """The OPA module version a Go c-shared library was built with (its Go build info lists
    ``dep github.com/open-policy-agent/opa vX.Y.Z``), or None."""
    folder = Path(getattr(module, "__file__", "") or ".").parent
    for lib in sorted(folder.glob("*.so")) + sorted(folder.glob("*.dylib")) + sorted(folder.glob("*.dll")):
        try:
            with lib.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                match = _GO_OPA_DEP.search(mm)
                found = match.group(1).decode("ascii") if match else None
        except (OSError, ValueError):
            continue
        if found:
            return found
    return None


def _distribution_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
