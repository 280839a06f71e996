"""``govchaos policy test``: Rego ``test_*`` rules and YAML decision cases, crash-isolated.

All evaluation happens in one worker process (:mod:`governance.engine.rego_test_worker`) for the
whole run. If the engine kills it (regopy segfaults on ``x in coll`` under ``with input as``),
the test being evaluated is reported as ERROR with the signal, a fresh worker is started and
loaded, and the run goes on. A test that runs past ``test_timeout_s`` is an ERROR too.

>>> report = asyncio.run(PolicyTestRunner(load_bundle("policies")).run())   # doctest: +SKIP
>>> report.exit_code                                                        # doctest: +SKIP
0
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
import time
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from governance.engine.bundle import PolicyBundle
from governance.engine.cases import DecisionCase, check_case, load_case_files
from governance.engine.protocol import canonical_input, decision_from_value

Status = Literal["PASS", "FAIL", "ERROR"]

_PACKAGE = re.compile(r"^\s*package\s+([\w.]+)", re.M)
_TEST_RULE = re.compile(r"^(test_\w+)\b", re.M)


class TestResult(BaseModel):
    __test__ = False  # not a pytest class
    model_config = ConfigDict(frozen=True)

    name: str
    kind: Literal["rego", "case"]
    status: Status
    detail: str = ""
    duration_ms: float = 0.0


class TestReport(BaseModel):
    __test__ = False
    model_config = ConfigDict(frozen=True)

    engine: str
    bundle_digest: str
    results: tuple[TestResult, ...]

    @property
    def passed(self) -> int:
        return sum(r.status == "PASS" for r in self.results)

    @property
    def failed(self) -> int:
        return sum(r.status == "FAIL" for r in self.results)

    @property
    def errors(self) -> int:
        return sum(r.status == "ERROR" for r in self.results)

    @property
    def exit_code(self) -> int:
        return 0 if self.failed == 0 and self.errors == 0 else 1

    def summary(self) -> str:
        return f"{self.passed} passed, {self.failed} failed, {self.errors} errors"

    def lines(self) -> list[str]:
        out = []
        for r in self.results:
            out.append(f"{r.status} {r.name}" + (f": {r.detail}" if r.detail else ""))
        out.append(self.summary())
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "bundle_digest": self.bundle_digest,
            "summary": {"passed": self.passed, "failed": self.failed, "errors": self.errors},
            "results": [r.model_dump() for r in self.results],
        }


def discover_rego_tests(bundle: PolicyBundle) -> list[str]:
    """``data.<package>.test_<name>`` for every test rule in ``*_test.rego``, in file order."""
    names: list[str] = []
    for module in bundle.test_modules:
        pkg = _PACKAGE.search(module.source)
        if not pkg:
            continue
        for rule in _TEST_RULE.findall(module.source):
            full = f"data.{pkg.group(1)}.{rule}"
            if full not in names:  # a test split over several bodies is one test
                names.append(full)
    return names


class WorkerCrashed(Exception):
    pass


class _Worker:
    """One worker process; ``call`` raises WorkerCrashed when it dies or hangs."""

    def __init__(self, command: Sequence[str], load: dict[str, Any], timeout_s: float) -> None:
        self._command = list(command)
        self._load = load
        self._timeout_s = timeout_s
        self._proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        env = dict(os.environ)
        env.pop("RUST_BACKTRACE", None)
        self._proc = await asyncio.create_subprocess_exec(
            *self._command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env=env,
            limit=16 * 1024 * 1024,
        )
        reply = await self.call(self._load)
        if "error" in reply:
            raise RuntimeError(f"policy test worker could not load the bundle: {reply['error']}")

    async def call(self, request: dict[str, Any]) -> dict[str, Any]:
        proc = self._proc
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write((json.dumps(request) + "\n").encode())
            await proc.stdin.drain()
            line = await asyncio.wait_for(proc.stdout.readline(), self._timeout_s)
        except asyncio.TimeoutError:
            await self.stop()
            raise WorkerCrashed(f"timed out after {self._timeout_s:g} s") from None
        except (BrokenPipeError, ConnectionResetError):
            line = b""
        if not line:
            code = await proc.wait()
            self._proc = None
            raise WorkerCrashed(_describe_exit(code))
        return json.loads(line)

    async def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.returncode is not None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 2.0)
        except asyncio.TimeoutError:
            proc.kill()  # our own child, by its handle
            await proc.wait()

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.returncode is None


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"engine crashed ({name})"
    return f"engine process exited with status {code}"


class PolicyTestRunner:
    """Runs a bundle's Rego tests and decision cases on one engine kind.

    Raises (from :meth:`run`): PolicyInputError for invalid case files (before any test runs).
    """

    def __init__(
        self,
        bundle: PolicyBundle,
        *,
        engine: str = "regorus",
        worker_command: Sequence[str] | None = None,
        test_timeout_s: float = 30.0,
    ) -> None:
        self.bundle = bundle
        self.engine = engine
        self.worker_command = list(
            worker_command or [sys.executable, "-m", "governance.engine.rego_test_worker"]
        )
        self.test_timeout_s = test_timeout_s

    async def run(self) -> TestReport:
        cases = load_case_files(self.bundle.case_files, self.bundle.data)
        rego_tests = discover_rego_tests(self.bundle)
        load = {
            "op": "load",
            "engine": self.engine,
            "modules": [[m.path, m.source] for m in self.bundle.modules],
            "data_json": self.bundle.data_json,
        }
        worker = _Worker(self.worker_command, load, self.test_timeout_s)
        results: list[TestResult] = []
        try:
            for name in rego_tests:
                results.append(await self._one(worker, name, "rego", {"op": "rule", "query": name}))
            for case in cases:
                request = {"op": "decide", "input_json": canonical_input(case.policy_input).decode()}
                results.append(await self._one(worker, f"case:{case.name}", "case", request, case))
        finally:
            await worker.stop()
        return TestReport(engine=self.engine, bundle_digest=self.bundle.digest, results=tuple(results))

    async def _one(
        self,
        worker: _Worker,
        name: str,
        kind: Literal["rego", "case"],
        request: dict[str, Any],
        case: DecisionCase | None = None,
    ) -> TestResult:
        started = time.perf_counter()
        try:
            if not worker.alive:
                await worker.start()
            reply = await worker.call(request)
        except WorkerCrashed as exc:
            return _result(name, kind, "ERROR", str(exc), started)
        except RuntimeError as exc:
            return _result(name, kind, "ERROR", str(exc), started)
        if "error" in reply:
            return _result(name, kind, "ERROR", _one_line(reply["error"]), started)
        value = reply.get("value")
        if case is None:
            if value is True:
                return _result(name, kind, "PASS", "", started)
            why = "undefined" if value is None else f"evaluated to {json.dumps(value)[:80]}"
            return _result(name, kind, "FAIL", why, started)
        problems = check_case(case, decision_from_value(value))
        if problems:
            return _result(name, kind, "FAIL", "; ".join(problems), started)
        return _result(name, kind, "PASS", "", started)


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]


def _result(name: str, kind: Any, status: Status, detail: str, started: float) -> TestResult:
    return TestResult(
        name=name,
        kind=kind,
        status=status,
        detail=detail,
        duration_ms=round((time.perf_counter() - started) * 1000, 3),
    )
