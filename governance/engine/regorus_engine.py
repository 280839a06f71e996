"""The default embedded engine: regorus (Rust), on its compiled VM where the VM is correct.

Measured here (6-candidate input): ``Rvm.execute_entry_point`` ~15 µs per decision vs
~30-120 µs for ``Engine.set_input_json`` + ``eval_rule``. But regorus 0.13.0's VM miscompiles
*multi-value rules with a reference head* — ``reasons[id] contains "x" if {...}`` yields the
set of values instead of the object ``{id: {values}}`` (the tree-walking interpreter is right).
For a deny-reasons map that silently turns "denied" into "allowed", so ``mode="auto"`` (the
default) uses the VM only when no decision module declares such a rule, else the interpreter.
``mode="vm"`` / ``mode="interpreter"`` force one. regorus raises on builtin errors where OPA
returns undefined; :class:`CompiledEngine` turns any exception into a deny.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, Literal

import orjson

from governance.engine.base import ENTRY_POINT, CompiledEngine
from governance.engine.bundle import PolicyBundle, RegoModule
from governance.engine.rego_errors import regorus_compile_error

_UNDEFINED = '"<undefined>"'
# A rule head like `deny_reasons[c.id] contains "x"` (possibly `a.b[k] contains`), at line start.
_REF_HEAD_CONTAINS = re.compile(r"^[ \t]*[A-Za-z_][\w.]*\[[^\n]*\][ \t]+contains\b", re.M)
_COMMENT = re.compile(r"#[^\n]*")

Mode = Literal["auto", "vm", "interpreter"]


def vm_unsafe_rules(modules: Iterable[RegoModule]) -> tuple[str, ...]:
    """``file:line`` of each rule the regorus VM is known to evaluate wrongly."""
    found = []
    for module in modules:
        code = _COMMENT.sub("", module.source)
        for m in _REF_HEAD_CONTAINS.finditer(code):
            found.append(f"{module.path}:{code.count(chr(10), 0, m.start()) + 1}")
    return tuple(found)


class RegorusEngine(CompiledEngine):
    """``regorus`` engine. Construction and reload raise PolicyCompileError (file:line:col)."""

    kind = "regorus"

    def __init__(self, bundle: PolicyBundle, *, mode: Mode = "auto", **kwargs: Any) -> None:
        if mode not in ("auto", "vm", "interpreter"):
            raise ValueError(f"mode must be auto, vm or interpreter, not {mode!r}")
        self._mode = mode
        self.backend = ""
        super().__init__(bundle, **kwargs)

    def _child_options(self) -> dict[str, Any]:
        return {"mode": self._mode}

    def _compile(self, bundle: PolicyBundle) -> Callable[[str], Any]:
        import regorus

        modules = [(m.path, m.source) for m in bundle.decision_modules]
        use_vm = self._mode == "vm" or (
            self._mode == "auto" and not vm_unsafe_rules(bundle.decision_modules)
        )
        try:
            # The interpreter is always built: it is what reports parse errors with locations
            # and what evaluates when the VM cannot be trusted.
            engine = regorus.Engine()
            for path, source in modules:
                engine.add_policy(path, source)
            engine.add_data_json(bundle.data_json)
            # Compiling also runs the semantic checks (unsafe variables, unknown functions) that
            # the interpreter only reports on first evaluation: do it even when not on the VM.
            try:
                program = regorus.Program.compile_from_modules(
                    bundle.data_json, modules, [ENTRY_POINT]
                )
            except Exception as exc:
                if not _vm_unsupported(exc):
                    raise
                use_vm = False  # valid Rego the VM compiler cannot take: interpreter only
            if use_vm:
                vm = regorus.Rvm()
                vm.load_program(program)
                vm.set_data_json(bundle.data_json)
        except Exception as exc:  # regorus raises RuntimeError with the location in its text
            raise regorus_compile_error(exc, entry_points=(ENTRY_POINT,), root=bundle.root) from exc
        self.backend = "vm" if use_vm else "interpreter"
        if use_vm:
            return _vm_evaluator(vm)
        return _interpreter_evaluator(engine)

    def _evaluate(self, state: Callable[[str], Any], input_json: bytes) -> Any:
        return state(input_json.decode())


def _vm_evaluator(vm: Any) -> Callable[[str], Any]:
    set_input = vm.set_input_json
    execute = vm.execute_entry_point

    def evaluate(input_json: str) -> Any:
        set_input(input_json)
        out = execute(ENTRY_POINT)
        return None if out == _UNDEFINED else orjson.loads(out)

    return evaluate


def _interpreter_evaluator(engine: Any) -> Callable[[str], Any]:
    set_input = engine.set_input_json
    eval_rule = engine.eval_rule

    def evaluate(input_json: str) -> Any:
        set_input(input_json)
        return eval_rule(ENTRY_POINT)  # None when undefined

    return evaluate


def check_modules(bundle: PolicyBundle, extra_entry_points: Iterable[str] = (), *,
                  require_decision: bool = True, timeout_s: float | None = None) -> None:
    """Parse and compile every module (tests included), as ``govchaos policy check`` does.

    ``require_decision``: the bundle must define ``data.govchaos.gateway.decision`` as a
    complete rule (what the gateway will query). Without it (``policy test`` of a helper
    library) the decision is checked only where package ``govchaos.gateway`` exists.

    Runs in a child process bounded in time and memory (:func:`check_in_child`), because
    parsing untrusted Rego can take exponential time.

    Raises:
        PolicyCompileError: the first problem, located file:line:col; or the bound exceeded.
    """
    from governance.engine.isolation import DEFAULT_COMPILE_TIMEOUT_S, check_in_child

    check_in_child(
        bundle.root, [(m.path, m.source) for m in bundle.modules], bundle.data_json,
        tuple(extra_entry_points), require_decision=require_decision,
        timeout_s=DEFAULT_COMPILE_TIMEOUT_S if timeout_s is None else timeout_s,
    )


def check_modules_inline(bundle: PolicyBundle, extra_entry_points: Iterable[str] = (), *,
                         require_decision: bool = True) -> None:
    """:func:`check_modules` in this process (what the child runs). Raises PolicyCompileError."""
    import regorus

    from governance.engine.rego_scan import check_nesting

    modules = [(m.path, m.source) for m in bundle.modules]
    check_nesting(modules)
    entries: list[str] = []
    try:
        engine = regorus.Engine()
        for path, source in modules:
            engine.add_policy(path, source)
        gateway = "data.govchaos.gateway" in set(engine.get_packages())
        entries = ([ENTRY_POINT] if require_decision or gateway else []) + list(extra_entry_points)
    except Exception as exc:
        raise regorus_compile_error(exc, root=bundle.root) from exc
    # The recursion / conflict / entry-point checks before any compile: regorus must never
    # compile, let alone evaluate, a recursive policy.
    check_static(bundle.modules, require=entries)
    try:
        # Semantic checks (unsafe variables, unknown functions) come from the VM compiler,
        # which cannot take `with` (used by every test): compile the non-test modules.
        decision = [(m.path, m.source) for m in bundle.decision_modules]
        if entries and decision:
            try:
                regorus.Program.compile_from_modules(bundle.data_json, decision, entries)
            except Exception as exc:
                if not _vm_unsupported(exc):
                    raise
    except Exception as exc:
        raise regorus_compile_error(exc, entry_points=tuple(entries), root=bundle.root) from exc


def check_static(modules: Iterable[RegoModule], *, require: Iterable[str] = (),
                 tolerate_syntax: bool = False) -> None:
    """Parse ``modules`` with regorus and run :func:`governance.engine.rego_graph.check_rules`.

    Raises:
        PolicyCompileError: a syntax error, recursion, conflicting definitions, or a missing
            or non-complete entry point in ``require`` — located file:line:col.
    """
    import regorus

    from governance.engine.rego_graph import check_rules
    from governance.engine.rego_scan import check_nesting

    mods = [(m.path, m.source) for m in modules]
    check_nesting(mods)  # never hand the parser a term it would take exponential time on
    engine = regorus.Engine()
    try:
        for path, source in mods:
            engine.add_policy(path, source)
    except Exception as exc:
        if tolerate_syntax:  # another engine's parser accepted it: nothing to analyse here
            return
        raise regorus_compile_error(exc, root=None) from exc
    check_rules(orjson.loads(engine.get_ast_as_json()), require=require)


def _vm_unsupported(exc: BaseException) -> bool:
    return "not supported by the compiler" in str(exc)
