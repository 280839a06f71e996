"""Worker process that evaluates policy tests, so an engine crash costs one test, not the run.

Run as ``python -m governance.engine.rego_test_worker``. Protocol: one JSON object per line on
stdin, one reply per line on the *original* stdout; the process's fd 1 is pointed at stderr
first, because native engines (rego-cpp) print diagnostics straight to fd 1.

Requests::

    {"op": "load", "engine": "regorus"|"regopy"|"opa-go", "modules": [[path, source], ...], "data_json": "{...}"}
    {"op": "rule", "query": "data.pkg.test_name"}       -> {"value": <result or null>}
    {"op": "decide", "input_json": "{...}"}             -> {"value": <decision or null>}

Replies carry ``{"error": "..."}`` when evaluation raised.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, TextIO

from governance.decision import DECISION_QUERY
from governance.engine.rego_values import jsonable


class EvaluationSession:
    """The engine state a worker holds: one loaded bundle, evaluated many times."""

    def __init__(self) -> None:
        self._kind = ""
        self._state: Any = None
        self._decide: Any = None

    def load(self, kind: str, modules: list[list[str]], data_json: str) -> None:
        from governance.engine.bundle import RegoModule, build_bundle
        self._kind = kind
        decision_mods = [RegoModule(p, s) for p, s in modules if not p.endswith("_test.rego")]
        if kind == "regorus":
            import regorus

            engine = regorus.Engine()
            for path, source in modules:
                engine.add_policy(path, source)
            engine.add_data_json(data_json)
            self._state = engine
        elif kind == "opa-go":
            from governance.engine.opa_go_engine import compile_modules

            # Compiled here (a probe evaluation), so a module OPA rejects is one load error
            # naming file:line:col, not an error on every test.
            all_mods = [RegoModule(p, s) for p, s in modules]
            self._state = compile_modules(all_mods, json.loads(data_json))
        elif kind == "regopy":
            import regopy

            interp = regopy.Interpreter()
            for path, source in modules:
                interp.add_module(path, source)
            interp.add_data_json(data_json)
            self._state = interp
        else:
            raise ValueError(f"policy tests run on regorus, regopy or opa-go, not {kind!r}")
        # Decision cases go through the production engine for that kind (same code path),
        # built on first use: a bundle of helpers and tests has no decision to compile.
        self._bundle = build_bundle("worker", decision_mods, json.loads(data_json))
        self._decide = None

    def rule(self, query: str) -> Any:
        if self._kind == "regorus":
            return self._state.eval_rule(query)
        if self._kind == "opa-go":
            from opa_bindings import OpaUndefinedError

            try:
                return self._state.eval_document(query.removeprefix("data."))
            except OpaUndefinedError:
                return None
        out = self._state.query(query)
        text = str(out)
        if text == "undefined" or not text:
            return None
        doc = json.loads(text)
        exprs = doc.get("expressions") if isinstance(doc, dict) else None
        return exprs[0] if exprs else None

    def decide(self, input_json: str) -> Any:
        if self._decide is None:
            from governance.engine.registry import create_engine

            # Inline: this worker already is the isolated process (the runner bounds each test).
            self._decide = create_engine(self._kind, self._bundle, cache=False, isolation="inline")
        state = self._decide._current[0]
        return self._decide._evaluate(state, input_json.encode())


def handle(session: EvaluationSession, request: dict[str, Any]) -> dict[str, Any]:
    """Answer one request; exceptions become ``{"error": ...}`` (crashes kill the process)."""
    from governance.engine.rego_errors import strip_backtrace

    try:
        op = request.get("op")
        if op == "load":
            session.load(request["engine"], request["modules"], request["data_json"])
            return {"ok": True}
        if op == "rule":
            return {"value": jsonable(session.rule(request["query"]))}
        if op == "decide":
            return {"value": jsonable(session.decide(request["input_json"]))}
        return {"error": f"unknown op {op!r}"}
    except Exception as exc:  # reported to the runner as this test's ERROR
        return {"error": f"{type(exc).__name__}: {strip_backtrace(str(exc))}"}


def serve(stdin: TextIO, out: TextIO, handler: Any = handle) -> None:
    session = EvaluationSession()
    for line in stdin:
        if not line.strip():
            continue
        reply = handler(session, json.loads(line))
        out.write(json.dumps(reply) + "\n")
        out.flush()


def protocol_stdout() -> TextIO:
    """Keep the real stdout for replies; send anything native code prints on fd 1 to stderr."""
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    return proto


def main() -> None:
    os.environ.pop("RUST_BACKTRACE", None)  # backtraces cost time and only add noise here
    serve(sys.stdin, protocol_stdout())


if __name__ == "__main__":
    main()

__all__ = ["DECISION_QUERY", "EvaluationSession", "handle", "serve", "main"]
