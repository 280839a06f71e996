"""Fixtures for report tests: synthetic run directories (no chaos run needed) and keys."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from chaos.report import finalize_report
from chaos.runner.synthetic import synthesize_run_dir
from governance.attest import KeyPairFiles, generate_keypair


@pytest.fixture(scope="session")
def _template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Built once: copying is much cheaper than writing an audit log per test.
    return synthesize_run_dir(tmp_path_factory.mktemp("template") / "run", duration_s=3, rps=10)


@pytest.fixture
def make_run_dir(_template: Path, tmp_path: Path) -> Callable[..., Path]:
    """Factory: an unsigned synthetic run directory (a copy of one template unless kwargs)."""
    count = 0

    def make(**kwargs: object) -> Path:
        nonlocal count
        count += 1
        target = tmp_path / f"run-{count}"
        if kwargs:
            return synthesize_run_dir(target, **{"duration_s": 3, "rps": 10, **kwargs})  # type: ignore[arg-type]
        shutil.copytree(_template, target)
        return target

    return make


@pytest.fixture
def run_dir(make_run_dir: Callable[..., Path]) -> Path:
    return make_run_dir()


@pytest.fixture
def signed_dir(run_dir: Path) -> Path:
    """Rendered and signed with an ephemeral key."""
    finalize_report(run_dir)
    return run_dir


@pytest.fixture(scope="session")
def org_keys(tmp_path_factory: pytest.TempPathFactory) -> KeyPairFiles:
    return generate_keypair(tmp_path_factory.mktemp("org-key"))


@pytest.fixture(scope="session")
def other_keys(tmp_path_factory: pytest.TempPathFactory) -> KeyPairFiles:
    return generate_keypair(tmp_path_factory.mktemp("other-key"))


@pytest.fixture
def org_signed_dir(run_dir: Path, org_keys: KeyPairFiles) -> Path:
    finalize_report(run_dir, key=org_keys.private_key)
    return run_dir
