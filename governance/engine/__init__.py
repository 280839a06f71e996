"""Policy engines: bundle loading, compile-once evaluation, decision cache, tests, server.

    from governance.engine import load_bundle, create_engine
    engine = create_engine("regorus", load_bundle("policies"))
    decision = await engine.decide(decision_input)

Errors (all from :mod:`governance.errors`): ``PolicyCompileError`` (a module does not compile,
located ``file:line:col``), ``PolicyInputError`` (a data/case/input file is invalid),
``UnknownEngineError`` (a ``PolicyInputError``). ``decide`` itself never raises: it fails closed.
"""

from governance.engine.base import CompiledEngine
from governance.engine.bundle import PolicyBundle, RegoModule, build_bundle, load_bundle
from governance.engine.cache import DecisionCache, uses_nondeterminism
from governance.engine.protocol import PolicyEngine, canonical_input, decision_from_value
from governance.engine.registry import (
    DEFAULT_ENGINE,
    ENGINES,
    EngineRegistry,
    UnknownEngineError,
    create_engine,
)

__all__ = [
    "DEFAULT_ENGINE",
    "ENGINES",
    "CompiledEngine",
    "DecisionCache",
    "EngineRegistry",
    "PolicyBundle",
    "PolicyEngine",
    "RegoModule",
    "UnknownEngineError",
    "build_bundle",
    "canonical_input",
    "create_engine",
    "decision_from_value",
    "load_bundle",
    "uses_nondeterminism",
]
