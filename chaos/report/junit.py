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
    if not check.passed:
        failure = ET.SubElement(
            case, "failure", message=_x(f"expected {expected}, observed {_observed(check.observed)}"),
            type="AssertionFailed",
        )
        failure.text = _x(f"expected: {expected}\nobserved: {_observed(check.observed)}\n"
                        f"requests: {check.requests}\n" + (f"detail: {check.detail}\n" if check.detail else ""))
    props = ET.SubElement(case, "properties")
    for name, value in (("expected", expected), ("observed", _observed(check.observed)),
                        ("requests", str(check.requests)), ("during", check.during or ""),
                        ("phase", check.phase or "")):
        if value:
            ET.SubElement(props, "property", name=name, value=_x(value))


def _suite(root: ET.Element, name: str, classname: str, checks: Sequence[CheckResult]) -> ET.Element:
    failures = sum(1 for c in checks if not c.passed)
    suite = ET.SubElement(root, "testsuite", name=name, tests=str(len(checks)),
                          failures=str(failures), errors="0", skipped="0")
    for check in checks:
        _case(suite, classname, check)
    return suite


def render_junit(view: ReportView) -> str:
    r = view.report
    scenario = r.scenario.name
    scenario = _x(scenario)
    root = ET.Element("testsuites", name=f"govchaos {scenario}")
    _suite(root, f"{scenario}.steady_state_before", f"{scenario}.steady_state.before",
           r.steady_state.before)
    main = _suite(root, f"{scenario}.assertions", f"{scenario}.assertions", r.assertions)
    _suite(root, f"{scenario}.steady_state_after", f"{scenario}.steady_state.after",
           r.steady_state.after)
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
