"""The same policy tests under several engines, and the tests whose outcome differs.

    reports = [await PolicyTestRunner(bundle, engine=e).run() for e in ("regorus", "opa-go")]
    cross = CrossEngineReport.of(reports)
    cross.differences      # tests that PASS in one engine and FAIL/ERROR (or are missing) in another

A difference is the thing a policy author must look at: the same Rego meaning two things
(DESIGN.md §5, invariant 8). The exit code is 1 when any test failed anywhere *or* differs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from governance.engine.policy_tests import TestReport, TestResult

MISSING = "MISSING"


class Difference(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    outcomes: dict[str, str]  # engine -> PASS | FAIL | ERROR | MISSING
    details: dict[str, str]  # engine -> the detail of a non-PASS outcome


class CrossEngineReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    reports: tuple[TestReport, ...]
    differences: tuple[Difference, ...]

    @classmethod
    def of(cls, reports: Sequence[TestReport]) -> "CrossEngineReport":
        by_engine = {r.engine: {t.name: t for t in r.results} for r in reports}
        names: list[str] = []
        for report in reports:
            for result in report.results:
                if result.name not in names:
                    names.append(result.name)
        diffs = []
        for name in names:
            got = {e: results.get(name) for e, results in by_engine.items()}
            outcomes = {e: (r.status if r else MISSING) for e, r in got.items()}
            if len(set(outcomes.values())) > 1:
                details = {e: r.detail for e, r in got.items() if r and r.detail}
                diffs.append(Difference(name=name, outcomes=outcomes, details=details))
        return cls(reports=tuple(reports), differences=tuple(diffs))

    @property
    def exit_code(self) -> int:
        failed = any(r.exit_code for r in self.reports)
        return 1 if failed or self.differences else 0

    def summary(self) -> str:
        parts = [f"{r.engine}: {r.summary()}" for r in self.reports]
        n = len(self.differences)
        parts.append(f"{n} test{'s' if n != 1 else ''} differ{'s' if n == 1 else ''} between engines")
        return "; ".join(parts)

    def lines(self) -> list[str]:
        """One line per test: its status when every engine agrees, else ``DIFF`` and each outcome."""
        differing = {d.name: d for d in self.differences}
        seen: set[str] = set()
        out: list[str] = []
        for result in _all_results(self.reports):
            if result.name in seen:
                continue
            seen.add(result.name)
            diff = differing.get(result.name)
            if diff is None:
                out.append(f"{result.status} {result.name}" + (f": {result.detail}" if result.detail else ""))
                continue
            each = []
            for engine, status in diff.outcomes.items():
                detail = diff.details.get(engine)
                each.append(f"{engine} {status}" + (f" ({detail})" if detail else ""))
            out.append(f"DIFF {result.name}: " + "; ".join(each))
        out.append(self.summary())
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "engines": [r.engine for r in self.reports],
            "bundle_digest": self.reports[0].bundle_digest if self.reports else None,
            "differences": [d.model_dump() for d in self.differences],
            "reports": {r.engine: r.to_json() for r in self.reports},
        }


def _all_results(reports: Sequence[TestReport]) -> list[TestResult]:
    return [t for r in reports for t in r.results]
