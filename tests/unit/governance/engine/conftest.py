from __future__ import annotations

from pathlib import Path

import pytest

from governance.decision import Candidate, DecisionInput

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "policies"


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


def _make_input(*ids: str, data_classes: tuple[str, ...] = ("pii",), **kw) -> DecisionInput:
    hosting = {"private": "private", "cloud": "cloud", "edge": "edge"}
    cands = tuple(
        Candidate(id=i, provider="p", hosting=hosting.get(i.split("-")[0], "cloud"), region="eu")
        for i in ids
    )
    return DecisionInput(
        route="chat", tenant="t1", data_classes=data_classes, candidates=cands, **kw
    )


@pytest.fixture
def make_input():
    return _make_input
