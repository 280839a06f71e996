"""Rego results as plain JSON values.

Engines hand back Rego sets as Python sets and object keys that need not be strings; JSON has
neither. One conversion for every place that prints or ships a result (the decision server, the
policy test worker).

>>> jsonable({"a": {3, 1, 2}, 1: (True, None)})
{'a': [1, 2, 3], '1': [True, None]}
"""

from __future__ import annotations

from typing import Any


def jsonable(value: Any) -> Any:
    """``value`` with sets as lists (sorted by ``repr``, so the order is stable), tuples as
    lists and object keys as strings; anything else unchanged."""
    if isinstance(value, (set, frozenset)):
        return sorted((jsonable(v) for v in value), key=repr)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value
