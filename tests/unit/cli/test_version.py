"""`govchaos --version`: govchaos, engines and report schema (govchaos/cli/version.py)."""

from __future__ import annotations

import importlib.metadata as metadata
import types
from pathlib import Path

from chaos.report.model import SCHEMA_VERSION
from govchaos import __version__
from govchaos.cli import main
from govchaos.cli.version import embedded_opa_version, engine_version


def test_version_lists_govchaos_engines_and_report_schema(capsys) -> None:
    assert main(["--version"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"govchaos {__version__}"
    assert lines[1] == f"report schema_version {SCHEMA_VERSION}"
    assert f"engine regorus {metadata.version('gordon-to-regorus')} (gordon-to-regorus)" in lines
    assert f"engine regopy {metadata.version('regopy')} (regopy)" in lines
    opa_go = next(line for line in lines if line.startswith("engine opa-go "))
    try:
        import opa_bindings  # noqa: F401
    except ImportError:
        assert "not installed" in opa_go
    else:
        dist = metadata.packages_distributions()["opa_bindings"][0]
        assert opa_go.startswith(f"engine opa-go {metadata.version(dist)} ({dist}, OPA v")


def test_an_engine_that_does_not_import_is_not_installed() -> None:
    assert engine_version("govchaos_no_such_engine_module") == "not installed"
    assert "opa-golib-python-bindings" in engine_version_missing_opa()


def engine_version_missing_opa() -> str:
    import sys

    saved = sys.modules.get("opa_bindings")
    sys.modules["opa_bindings"] = None  # type: ignore[assignment]  # import now raises
    try:
        return engine_version("opa_bindings")
    finally:
        if saved is None:
            del sys.modules["opa_bindings"]
        else:
            sys.modules["opa_bindings"] = saved


def test_embedded_opa_version_comes_from_go_build_info(tmp_path: Path) -> None:
    lib = tmp_path / "libbridge.so"
    lib.write_bytes(b"\x7fELF junk\x00path\tcommand-line\ndep\tgithub.com/open-policy-agent/opa"
                    b"\tv1.20.2\th1:abc=\ndep\tgithub.com/other\tv0.1.0\n")
    module = types.SimpleNamespace(__file__=str(tmp_path / "__init__.py"))
    assert embedded_opa_version(module) == "v1.20.2"
    lib.write_bytes(b"no build info here")
    assert embedded_opa_version(module) is None
