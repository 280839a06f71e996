"""``junit.xml``: one testcase per assertion and per steady-state probe.

A failing check carries ``<failure message="expected … observed …">``; a run that broke adds one
``<error>`` testcase naming why, so CI shows it as an error rather than a test failure.
XML is built with :mod:`xml.etree.ElementTree`, which escapes every attribute and text node.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from xml.etree import ElementTree as ET

from chaos.report.view import ReportView
from chaos.runner.assertions import CheckResult

# Characters XML 1.0 cannot carry at all (ElementTree would write them and produce bad XML).
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _x(text: str) -> str:
    return _INVALID_XML.sub("\ufffd", text)


def _observed(value: float | None) -> str:
    return "n/a (no data)" if value is None else f"{value:g}"


def _case(suite: ET.Element, classname: str, check: CheckResult) -> None:
    case = ET.SubElement(suite, "testcase", classname=classname, name=_x(check.name), time="0")
    expected = f"{check.metric} {check.op} {check.expected:g}"
    # <properties> before <failure>: the order JUnit schemas and CI parsers expect.
    props = ET.SubElement(case, "properties")
    for name, value in (("expected", expected), ("observed", _observed(check.observed)),
                        ("requests", str(check.requests)), ("during", check.during or ""),
                        ("phase", check.phase or "")):
        if value:
            ET.SubElement(props, "property", name=name, value=_x(value))
    if not check.passed:
        failure = ET.SubElement(
            case, "failure", message=_x(f"expected {expected}, observed {_observed(check.observed)}"),
            type="AssertionFailed",
        )
        failure.text = _x(f"expected: {expected}\nobserved: {_observed(check.observed)}\n"
                        f"requests: {check.requests}\n" + (f"detail: {check.detail}\n" if check.detail else ""))


def _suite(root: ET.Element, name: str, classname: str, checks: Sequence[CheckResult],
           stamp: dict[str, str]) -> ET.Element:
    failures = sum(1 for c in checks if not c.passed)
    suite = ET.SubElement(root, "testsuite", name=name, tests=str(len(checks)),
                          failures=str(failures), errors="0", skipped="0", **stamp)
    for check in checks:
        _case(suite, classname, check)
    return suite


def _junit_timestamp(started_at: str) -> str:
    """``2025-01-01T12:00:00.123Z`` → ``2025-01-01T12:00:00`` (UTC, as report.json says)."""
    return re.sub(r"(\.\d+)?(Z|[+-]\d\d:\d\d)$", "", started_at)


def render_junit(view: ReportView) -> str:
    r = view.report
    scenario = r.scenario.name
    scenario = _x(scenario)
    root = ET.Element("testsuites", name=f"govchaos {scenario}")
    # time, timestamp (ISO 8601, no zone: the JUnit schema's form) and hostname on each suite.
    stamp = {"time": "0", "timestamp": _x(_junit_timestamp(r.started_at)),
             "hostname": _x(r.environment.host or "localhost")}
    _suite(root, f"{scenario}.steady_state_before", f"{scenario}.steady_state.before",
           r.steady_state.before, stamp)
    main = _suite(root, f"{scenario}.assertions", f"{scenario}.assertions", r.assertions, stamp)
    _suite(root, f"{scenario}.steady_state_after", f"{scenario}.steady_state.after",
           r.steady_state.after, stamp)
    main.set("time", f"{r.duration_s:.3f}")
    if r.stopped_early is not None or (r.verdict == "failed" and all(
            c.passed for c in (*r.steady_state.before, *r.assertions, *r.steady_state.after))):
        # A stop condition (or any other reason the verdict failed) must fail CI even when
        # every check that got evaluated held.
        case = ET.SubElement(main, "testcase", classname=f"{scenario}.run", name="verdict", time="0")
        reasons = list(r.verdict_reasons)
        if r.stopped_early is not None:
            s = r.stopped_early
            reasons.insert(0, f"stopped early at {s.at_s:.1f} s: {s.condition} "
                              f"(observed {_observed(s.observed)})")
        failure = ET.SubElement(case, "failure", message=_x("; ".join(reasons) or "the run failed"),
                                type="HypothesisDeviated")
        failure.text = _x("\n".join(reasons))
        main.set("tests", str(int(main.get("tests", "0")) + 1))
        main.set("failures", str(int(main.get("failures", "0")) + 1))
    if r.verdict == "broken":
        case = ET.SubElement(main, "testcase", classname=f"{scenario}.run", name="run completed", time="0")
        error = ET.SubElement(case, "error", message=_x("; ".join(r.verdict_reasons) or "the run broke"),
                              type="RunBroken")
        error.text = _x("\n".join(r.verdict_reasons))
        main.set("tests", str(int(main.get("tests", "0")) + 1))
        main.set("errors", "1")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for suite in root:
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{r.duration_s:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
