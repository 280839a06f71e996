"""The real OPA evaluator, in-process: ``opa-go`` (OPA v1.20.2 as a Go c-shared library).

    engine = create_engine("opa-go", load_bundle("policies"))
    decision = await engine.decide(inp)        # data.govchaos.gateway.decision, evaluated by OPA

Backed by PyPI ``opa-golib-python-bindings`` 0.4.4 (``from opa_bindings import OpaEngine``). Its
metadata says Python >= 3.14 but it works on 3.11, so it is installed with
``pip install --ignore-requires-python opa-golib-python-bindings==0.4.4`` (``make test`` does).
It is slower than regorus (~1 ms per decision on the shipped policy) but it *is* OPA: the
reference the differential tests compare every other engine with.

Two properties of the binding shape this module:

- it compiles lazily: ``add_policy`` only parses; unsafe variables, recursion or unknown
  functions surface at the first evaluation. So compiling here ends with one probe evaluation
  (``true``), which activates the whole bundle and raises what OPA's compiler found;
- a module that fails to compile leaves that OPA engine failing every later evaluation. So each
  (re)load builds a *fresh* OPA engine, and only a fully compiled one is swapped in.

Evaluations are serialised per engine by the binding's lock. :class:`CompiledEngine` supplies the
decision cache, the fail-closed translation and the atomic swap, as for the other engines.

Raises (construction, reload): :class:`OpaGoUnavailable` when the binding is not installed,
:class:`~governance.errors.PolicyCompileError` (``path:line:col``) when OPA rejects a module.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from governance.errors import Location, PolicyCompileError, PolicyEngineError

from governance.engine.base import CompiledEngine
from governance.engine.bundle import PolicyBundle, RegoModule

DISTRIBUTION = "opa-golib-python-bindings"
VERSION = "0.4.4"
INSTALL_HINT = f"pip install --ignore-requires-python {DISTRIBUTION}=={VERSION}"
DECISION_DOCUMENT = "govchaos.gateway.decision"

# "policies/request.rego:22: rego_unsafe_var_error: var x is unsafe", optionally followed by the
# source line and a caret line (parse errors), each indented by one tab.
_ERROR = re.compile(
    r"(?P<file>[^\s:][^:\n]*):(?P<line>\d+): (?P<code>rego_\w+|eval_\w+): (?P<msg>[^\n]*)"
    r"(?:\n\t(?P<src>[^\n]*)\n\t(?P<caret>[ \t]*)\^)?"
)
# Error codes that mean "the policy does not compile" (anything else is an evaluation error).
_COMPILE_CODES = ("parse_error", "prepare_error", "compile_error")


class OpaGoUnavailable(PolicyEngineError):
    """The binding is not installed (or cannot load on this platform)."""

    code = "policy_engine_unavailable"


def load_bindings() -> Any:
    """The ``opa_bindings`` module.

    Raises:
        OpaGoUnavailable: not installed, or its native library does not load here; the message
            says how to install it.
    """
    try:
        import opa_bindings
    except ImportError as exc:
        raise OpaGoUnavailable(
            f"policy engine 'opa-go' needs the {DISTRIBUTION} package ({exc}); install it with: "
            f"{INSTALL_HINT}  (linux x86_64, glibc >= 2.34)"
        ) from exc
    except OSError as exc:  # the .so exists but the loader refused it
        raise OpaGoUnavailable(
            f"policy engine 'opa-go': the {DISTRIBUTION} native library does not load here: {exc}"
        ) from exc
    return opa_bindings


def available() -> bool:
    """Whether ``opa-go`` can be used on this machine (for optional checks and tests)."""
    try:
        load_bindings()
    except OpaGoUnavailable:
        return False
    return True


def compile_modules(
    modules: Iterable[RegoModule], data: Mapping[str, Any], *, root: str | None = None
) -> Any:
    """A fresh OPA engine holding ``modules`` and ``data``, compiled (one probe evaluation).

    Raises:
        OpaGoUnavailable: the binding is missing.
        PolicyCompileError: OPA rejects a module, located ``path:line:col`` (the first error;
            the message counts the others).
    """
    bindings = load_bindings()
    mods = list(modules)
    sources = {m.path: m.source for m in mods}
    engine = bindings.OpaEngine()
    try:
        for module in mods:
            engine.add_policy(module.path, module.source)
        engine.add_data(dict(data))
        engine.eval_query("true")  # activation: OPA's full compile of every module
    except bindings.OpaError as exc:
        engine.close()  # a failed engine stays failed: never reuse it
        raise opa_compile_error(exc, sources, root=root) from exc
    except BaseException:
        engine.close()
        raise
    return engine


def opa_compile_error(
    exc: Any, sources: Mapping[str, str], *, root: str | None = None
) -> PolicyCompileError:
    """Translate an ``OpaError`` into a located :class:`PolicyCompileError`.

    OPA's error text carries ``file:line``; the earliest error is reported (the message counts
    the others); the column comes from the caret line of a parse
    error, otherwise it is the column of the first token on that line (where OPA's location of a
    rule or expression starts).
    """
    text = str(getattr(exc, "message", "") or exc)
    found = list(_ERROR.finditer(text))
    if not found:
        message = " ".join(text.split())[:300] or "OPA rejected the policy"
        return PolicyCompileError(f"opa-go: {message}", location=Location(root) if root else None)
    # OPA's error order follows Go map iteration (it varies run to run): report the earliest.
    found.sort(key=lambda m: (m.group("file"), int(m.group("line"))))
    first = found[0]
    file, line = first.group("file"), int(first.group("line"))
    if first.group("caret") is not None:
        column = len(first.group("caret")) + 1
    else:
        column = _first_token_column(sources.get(file), line)
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    message = f"{first.group('msg').strip()} [opa {first.group('code')}]{more}"
    return PolicyCompileError(message, location=Location(file, line, column))


def _first_token_column(source: str | None, line: int) -> int:
    if source is None:
        return 1
    lines = source.splitlines()
    if not 1 <= line <= len(lines):
        return 1
    text = lines[line - 1]
    return len(text) - len(text.lstrip()) + 1


def is_compile_error(exc: BaseException) -> bool:
    return getattr(exc, "code", None) in _COMPILE_CODES


class OpaGoEngine(CompiledEngine):
    """``opa-go`` engine: OPA's own evaluator on the bundle's decision modules."""

    kind = "opa-go"
    compiler_checks_first = True  # OPA's own compiler rejects recursion, with its messages

    def _compile(self, bundle: PolicyBundle) -> Any:
        return compile_modules(bundle.decision_modules, bundle.data, root=bundle.root)

    def _evaluate(self, state: Any, input_json: bytes) -> Any:
        from opa_bindings import OpaUndefinedError

        try:
            return state.eval_document(DECISION_DOCUMENT, orjson.loads(input_json))
        except OpaUndefinedError:
            return None

    async def reload(self, bundle: PolicyBundle) -> None:
        """Compile ``bundle`` in a fresh OPA engine, swap it in, then release the old one.

        Raises:
            PolicyCompileError: OPA rejects the new bundle; the old one stays in force.
        """
        old = self._current[0]
        await super().reload(bundle)
        if self._current[0] is not old:
            old.close()

    async def close(self) -> None:
        await super().close()
        self._current[0].close()
