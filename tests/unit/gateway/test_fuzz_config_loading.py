"""Fuzzing gateway config loading (bounded): a mutated config loads or is a located ConfigError.

Mutations start from examples/gateway.yaml (values replaced by arbitrary YAML data, keys dropped
or added, lines repeated, text cut, junk inserted), written next to the original so its relative
paths still resolve. Text only: non-UTF-8 bytes are the HTTP/config helper's (issue 10 item 7).
"""

from __future__ import annotations

import copy
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.config import load_config
from gateway.errors import ConfigError

REPO = Path(__file__).resolve().parents[3]
CONFIG = REPO / "examples" / "gateway.yaml"
BASE = yaml.safe_load(CONFIG.read_text())
EXAMPLES = 400

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


@st.composite
def mutated(draw) -> str:
    doc = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(_paths(doc))))
        value = draw(_value)
        if not path:
            doc = value
            continue
        node = doc
        for part in path[:-1]:
            node = node[part]
        if draw(st.booleans()) and isinstance(node, dict):
            del node[path[-1]]
        else:
            node[path[-1]] = value
    text = yaml.safe_dump(doc, sort_keys=False)
    lines = text.splitlines(keepends=True)
    edit = draw(st.sampled_from(["none", "cut", "repeat", "junk"]))
    if edit == "cut":
        text = text[: draw(st.integers(0, len(text)))]
    elif edit == "repeat" and lines:
        i = draw(st.integers(0, len(lines) - 1))
        text = "".join(lines[:i] + [lines[i]] + lines[i:])
    elif edit == "junk":
        i = draw(st.integers(0, len(text)))
        text = text[:i] + draw(st.text(alphabet="{}[]:&*!|>'\"\t-#%@`\x00\x01\u2028", max_size=4)) + text[i:]
    return text


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_config_loads_or_fails_located(text) -> None:
    path = CONFIG.parent / ".fuzz-gateway.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_config(path)
    except ConfigError as exc:
        assert exc.location is not None and exc.location.file == str(path) and exc.message
    finally:
        path.unlink(missing_ok=True)
