"""Shared pytest configuration: markers that skip cleanly, repository paths."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
POLICIES = REPO / "policies"
SCENARIOS = REPO / "scenarios"


def _nvml_available() -> bool:
    try:
        import pynvml

        pynvml.nvmlInit()
        count = pynvml.nvmlDeviceGetCount()
        pynvml.nvmlShutdown()
        return count > 0
    except Exception:
        return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    gpu = None
    for item in items:
        if item.get_closest_marker("gpu") is not None:
            if gpu is None:
                gpu = _nvml_available()
            if not gpu:
                item.add_marker(pytest.mark.skip(reason="no NVIDIA GPU with NVML on this machine"))
        if item.get_closest_marker("network") is not None:
            item.add_marker(pytest.mark.skip(reason="needs internet access; this suite runs offline"))


@pytest.fixture
def repo_root() -> Path:
    return REPO
