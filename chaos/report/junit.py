"""``junit.xml``: one testcase per check of ``report.json``, valid against junit-10.xsd.

Suites, in report order: steady state before, assertions, steady state after, stop conditions.
The counts are report.json's: one testcase per check (:meth:`~chaos.report.model.Report.checks`),
no testcase of our own invention. A failed check carries
``<failure message="expected … observed …">``; a check that never ran because the run ended
early (a stop condition fired, the steady state deviated) is ``<skipped message="not run: …">``;
a tripped stop condition is a failed testcase of its own.

The shape is the Jenkins/Surefire schema that pytest's own suite validates against
(junit-10.xsd): no ``<properties>`` inside a testcase (the expected/observed facts go to the
testcase's ``<system-out>``), no ``<error>`` element in a testcase (that schema has none), times
as seconds with at most three decimals. A broken run sets ``errors="1"`` on ``<testsuites>`` and
its suite, with the reasons in the suite's ``<system-err>``; the verdict and the run id are suite
``<properties>``. Times are real: each testcase lasts as long as the window its check was
computed over; each suite as long as its phase; timestamps are the phase's start (UTC, no zone:
the schema's form). XML is built with :mod:`xml.etree.ElementTree`, which escapes every attribute
and text node.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from xml.etree import ElementTree as ET

from chaos.report.model import Report
from chaos.report.records import CheckResult
from chaos.report.view import ReportView

# Characters XML 1.0 cannot carry at all (ElementTree would write them and produce bad XML).
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _x(text: str) -> str:
    return _INVALID_XML.sub("\ufffd", text)


def _observed(value: float | None) -> str:
    return "n/a (no data)" if value is None else f"{value:g}"


def _secs(value: float | None) -> str:
    return f"{max(value or 0.0, 0.0):.3f}"


class _Clock:
    """Windows of a run in seconds since its start, and their wall-clock timestamps."""

    def __init__(self, report: Report) -> None:
        self.report = report
        self.phases = {p.name: (p.start_s, p.end_s if p.end_s is not None else report.duration_s)
                       for p in report.phases}
        self.faults = {f.name: (f.applied_at_s, f.reverted_at_s if f.reverted_at_s is not None
                                else report.duration_s)
                       for f in report.faults if f.applied_at_s is not None}
        try:
            self.t0: dt.datetime | None = dt.datetime.fromisoformat(report.started_at.replace("Z", "+00:00"))
        except ValueError:
            self.t0 = None

    def span(self, *names: str) -> tuple[float, float] | None:
        found = [self.phases[n] for n in names if n in self.phases]
        return (min(a for a, _ in found), max(b for _, b in found)) if found else None

    def load(self) -> tuple[float, float]:
        return self.span("steady_before", "faults", "recovery", "steady_after") or (0.0, self.report.duration_s)

    def window(self, check: CheckResult, default: tuple[float, float]) -> tuple[float, float]:
        if check.during and check.during in self.faults:
            return self.faults[check.during]  # type: ignore[return-value]
        if check.phase and check.phase in self.phases:
            return self.phases[check.phase]
        return default

    def stamp(self, t_s: float) -> str:
        if self.t0 is None:
            return _x(re.sub(r"(\.\d+)?(Z|[+-]\d\d:\d\d)$", "", self.report.started_at))
        moment = (self.t0 + dt.timedelta(seconds=t_s)).astimezone(dt.UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _case(suite: ET.Element, classname: str, check: CheckResult, seconds: float,
          stop: bool = False) -> None:
    case = ET.SubElement(suite, "testcase", classname=classname, name=_x(check.name),
                         time=_secs(0.0 if check.skipped else seconds))
    expected = f"{check.metric} {check.op} {check.expected:g}"
    if check.skipped:
        ET.SubElement(case, "skipped", message=_x(check.detail or "not run"))
    elif not check.passed:
        # A stop condition states when to stop, not what to expect: it fails by tripping.
        message = (f"stop condition tripped: {expected}, observed {_observed(check.observed)}; "
                   f"{check.detail}" if stop else
                   f"expected {expected}, observed {_observed(check.observed)}")
        failure = ET.SubElement(case, "failure", message=_x(message),
                                type="StopConditionTripped" if stop else "AssertionFailed")
        failure.text = _x(f"expected: {expected}\nobserved: {_observed(check.observed)}\n"
                          f"requests: {check.requests}\n" + (f"detail: {check.detail}\n" if check.detail else ""))
    facts = [("trips when" if stop else "expected", expected), ("observed", _observed(check.observed)),
             ("requests", str(check.requests)), ("during", check.during or ""),
             ("phase", check.phase or ""),
             ("scope", ", ".join(f"{k}={v}" for k, v in check.scope.items())),
             ("detail", check.detail)]
    out = ET.SubElement(case, "system-out")
    out.text = _x("".join(f"{k}: {v}\n" for k, v in facts if v))


def _suite(root: ET.Element, name: str, classname: str, checks: Sequence[CheckResult],
           clock: _Clock, span: tuple[float, float] | None, hostname: str,
           default_window: tuple[float, float], stop: bool = False) -> ET.Element:
    start, end = span or default_window
    suite = ET.SubElement(
        root, "testsuite", name=name, tests=str(len(checks)),
        failures=str(sum(1 for c in checks if not c.passed and not c.skipped)), errors="0",
        skipped=str(sum(1 for c in checks if c.skipped)), time=_secs(end - start),
        timestamp=clock.stamp(start), hostname=hostname,
    )
    for check in checks:
        a, b = clock.window(check, default_window)
        _case(suite, classname, check, b - a, stop)
    return suite


def render_junit(view: ReportView) -> str:
    r = view.report
    scenario = _x(r.scenario.name)
    clock = _Clock(r)
    load = clock.load()
    hostname = _x(r.environment.host or "localhost")
    root = ET.Element("testsuites", name=f"govchaos {scenario}")
    before = _suite(root, f"{scenario}.steady_state_before", f"{scenario}.steady_state.before",
                    r.steady_state.before, clock, clock.span("steady_before"), hostname, load)
    _suite(root, f"{scenario}.assertions", f"{scenario}.assertions", r.assertions, clock,
           load, hostname, load)
    _suite(root, f"{scenario}.steady_state_after", f"{scenario}.steady_state.after",
           r.steady_state.after, clock, clock.span("steady_after"), hostname, load)
    if r.stop_conditions:
        watched = clock.span("steady_before", "faults", "recovery") or load
        _suite(root, f"{scenario}.stop_conditions", f"{scenario}.stop_conditions",
               r.stop_conditions, clock, watched, hostname, watched, stop=True)
    # The run's own facts, once, on the first suite: verdict, run id, why it failed or broke.
    props = ET.Element("properties")
    for name, value in (("verdict", r.verdict), ("run_id", r.run_id), ("seed", str(r.seed)),
                        ("partial", "true" if r.partial else "false"),
                        ("stopped_early", "" if r.stopped_early is None else
                         f"{r.stopped_early.condition} at {r.stopped_early.at_s:.1f} s")):
        if value:
            ET.SubElement(props, "property", name=name, value=_x(value))
    before.insert(0, props)
    if r.verdict != "passed" and r.verdict_reasons:
        err = ET.SubElement(before, "system-err")
        err.text = _x(f"verdict {r.verdict}:\n" + "".join(f"- {x}\n" for x in r.verdict_reasons))
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for suite in root:
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
    if r.verdict == "broken":  # the run itself could not do its job: an error, not a failure
        before.set("errors", "1")
        totals["errors"] = 1
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", _secs(r.duration_s))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
