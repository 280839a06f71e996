from __future__ import annotations

import pytest

from chaos.errors import ScenarioError
from chaos.scenario import fill_template


def test_fills_placeholders_and_escapes() -> None:
    out = fill_template("a: ${x.y}\nb: $${x.y}\n", {"x.y": "1"})
    assert out == "a: 1\nb: ${x.y}\n"


def test_unknown_placeholder_is_an_error_with_line_and_hint() -> None:
    with pytest.raises(ScenarioError) as info:
        fill_template("a: 1\nb: ${audit_pth}\n", {"audit_path": "/x"}, file="t.yaml")
    assert info.value.location.line == 2
    assert "audit_path" in info.value.message
