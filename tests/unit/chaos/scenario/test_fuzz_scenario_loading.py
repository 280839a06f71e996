"""Fuzzing scenario loading (bounded): a mutated scenario loads or is a located ScenarioError.

Mutations start from a shipped scenario: a value anywhere replaced by arbitrary YAML data, a key
dropped or added, the text cut, a line repeated (duplicate keys), junk characters inserted.
Nothing may escape as another exception type, and a scenario that loads must also pass or fail
``check_references`` (template, placeholders, policy bundle) with a govchaos error.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaos.errors import ScenarioError
from chaos.faults import default_registry
from chaos.scenario import parse_scenario
from chaos.scenario.references import check_references
from governance.errors import GovchaosError

REPO = Path(__file__).resolve().parents[4]
SCENARIO = REPO / "scenarios" / "provider-outage.yaml"
BASE = yaml.safe_load(SCENARIO.read_text())
EXAMPLES = 400
_checked: set[Path] = set()

_leaf = (st.none() | st.booleans() | st.integers(-10**6, 10**9) | st.floats(allow_nan=True)
         | st.text(max_size=12))
_value = st.recursive(_leaf, lambda v: st.lists(v, max_size=3)
                      | st.dictionaries(st.text(max_size=8), v, max_size=3), max_leaves=8)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


def _set(doc, path, value, delete=False):
    if not path:
        return value
    node = doc
    for part in path[:-1]:
        node = node[part]
    if delete and isinstance(node, dict):
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return doc


@st.composite
def mutated(draw) -> bytes:
    import copy

    doc = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(doc))
        path = draw(st.sampled_from(paths))
        kind = draw(st.sampled_from(["replace", "delete", "add"]))
        if kind == "add" and isinstance(doc, dict):
            doc[draw(st.text(min_size=1, max_size=8))] = draw(_value)
        else:
            doc = _set(doc, path, draw(_value), delete=kind == "delete")
    text = yaml.safe_dump(doc, sort_keys=False)
    lines = text.splitlines(keepends=True)
    edit = draw(st.sampled_from(["none", "cut", "repeat", "junk"]))
    if edit == "cut" and text:
        text = text[: draw(st.integers(0, len(text)))]
    elif edit == "repeat" and lines:
        i = draw(st.integers(0, len(lines) - 1))
        lines.insert(i, lines[i])
        text = "".join(lines)
    elif edit == "junk":
        i = draw(st.integers(0, len(text)))
        text = text[:i] + draw(st.text(alphabet="{}[]:&*!|>'\"\t-#%@`\x00\u2028", max_size=4)) + text[i:]
    return text.encode("utf-8", "surrogatepass")


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_scenario_loads_or_fails_located(raw) -> None:
    try:
        loaded = parse_scenario(raw, SCENARIO, faults=default_registry())
    except ScenarioError as exc:
        assert exc.location is not None and exc.location.file == str(SCENARIO)
        assert exc.message
        return
    try:
        check_references(loaded, checked_bundles=_checked)
    except GovchaosError as exc:
        assert exc.message
