"""The scenario JSON Schema, derived from :class:`chaos.scenario.model.Scenario`.

The schema is generated, never hand-edited, so it cannot drift from the loader. Fault ``params``
are checked per kind by the fault registry (each kind owns a params model), which the schema
describes in ``$defs.FaultSpec`` only as an object.

>>> scenario_json_schema()["title"]
'Scenario'
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from chaos.scenario.model import Scenario

SCHEMA_ID = "https://govchaos.dev/schemas/scenario.schema.json"


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    schema = Scenario.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID
    return schema


def scenario_json_schema() -> dict[str, Any]:
    """A fresh copy of the scenario JSON Schema (draft 2020-12)."""
    import copy

    return copy.deepcopy(_schema())
