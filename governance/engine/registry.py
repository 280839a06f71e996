"""The explicit registry of policy engine kinds, filled in one place (:data:`ENGINES`).

>>> sorted(ENGINES.names())
['opa', 'opa-go', 'regopy', 'regorus']
>>> ENGINES.factory("regorous")
Traceback (most recent call last):
...
governance.engine.registry.UnknownEngineError: unknown policy engine 'regorous' (did you mean 'regorus' or 'regopy'?)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from governance.errors import PolicyInputError
from governance.registry import Registry

from governance.engine.protocol import PolicyEngine

DEFAULT_ENGINE = "regorus"

EngineFactory = Callable[..., PolicyEngine]


class UnknownEngineError(PolicyInputError):
    code = "unknown_policy_engine"


class EngineRegistry:
    """Engine kind name → factory. Factories import their engine lazily (heavy native libs)."""

    def __init__(self) -> None:
        self._factories: Registry[EngineFactory] = Registry("policy engine", UnknownEngineError)

    def register(self, name: str, factory: EngineFactory) -> None:
        self._factories.register(name, factory)

    def names(self) -> tuple[str, ...]:
        return self._factories.names()

    def factory(self, name: str) -> EngineFactory:
        """Raises UnknownEngineError suggesting the closest registered names."""
        return self._factories.get(name)

    def create(self, name: str, *args: Any, **kwargs: Any) -> PolicyEngine:
        return self.factory(name)(*args, **kwargs)


def _regorus(*args: Any, **kwargs: Any) -> PolicyEngine:
    from governance.engine.regorus_engine import RegorusEngine

    return RegorusEngine(*args, **kwargs)


def _regopy(*args: Any, **kwargs: Any) -> PolicyEngine:
    from governance.engine.regopy_engine import RegopyEngine

    return RegopyEngine(*args, **kwargs)


def _opa(*args: Any, **kwargs: Any) -> PolicyEngine:
    from governance.engine.opa_engine import OpaEngine

    return OpaEngine(*args, **kwargs)


def _opa_go(*args: Any, **kwargs: Any) -> PolicyEngine:
    from governance.engine.opa_go_engine import OpaGoEngine

    return OpaGoEngine(*args, **kwargs)


ENGINES = EngineRegistry()
ENGINES.register("regorus", _regorus)
ENGINES.register("regopy", _regopy)
ENGINES.register("opa", _opa)
ENGINES.register("opa-go", _opa_go)


def create_engine(name: str = DEFAULT_ENGINE, *args: Any, **kwargs: Any) -> PolicyEngine:
    """Create an engine by kind: ``create_engine("regorus", bundle)``,
    ``create_engine("opa", url="http://127.0.0.1:8181")``.

    Raises:
        UnknownEngineError: no such kind (the message suggests the closest).
        PolicyCompileError: the bundle does not compile (embedded engines).
    """
    return ENGINES.create(name, *args, **kwargs)
