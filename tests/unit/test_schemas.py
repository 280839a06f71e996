"""schemas/*.json, shipped in the wheel, are exactly what the models generate.

After changing the scenario or report model, regenerate them:

    python -m govchaos chaos schema > schemas/scenario.schema.json
    python -m govchaos chaos schema --report > schemas/report.schema.json
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chaos.report.model import report_json_schema
from chaos.scenario import scenario_json_schema

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


@pytest.mark.parametrize(("name", "generate", "flag"), [
    ("scenario.schema.json", scenario_json_schema, ""),
    ("report.schema.json", report_json_schema, " --report"),
])
def test_shipped_schema_is_the_generated_one(name: str, generate, flag: str) -> None:
    shipped = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    assert shipped == generate(), (
        f"schemas/{name} is stale: run `python -m govchaos chaos schema{flag} > schemas/{name}`")
    assert shipped["$id"].endswith(f"/schemas/{name}")
