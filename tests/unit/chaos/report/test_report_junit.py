"""junit.xml: valid against the Surefire/Jenkins JUnit schema, read back by junitparser.

``tests/fixtures/junit/surefire-junit.xsd`` is our own fixture schema encoding the same
constraints as the junit-10.xsd that pytest's test suite validates its junit XML against (no
``<properties>`` or ``<error>`` inside a testcase, required suite attributes, times with at most
three decimals); it is written for this project, not a copy of that file. Each report shape a
run can produce (passed, failed, broken, stopped early) must validate, and the counts a JUnit
consumer reads must be report.json's.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

xmlschema = pytest.importorskip("xmlschema")
junitparser = pytest.importorskip("junitparser")

from chaos.report import render_directory  # noqa: E402
from chaos.report.model import StopInfo, write_report  # noqa: E402
from chaos.report.view import read_report_file  # noqa: E402

XSD = Path(__file__).resolve().parents[3] / "fixtures" / "junit" / "surefire-junit.xsd"


@pytest.fixture(scope="module")
def schema() -> object:
    return xmlschema.XMLSchema(str(XSD))


def _stopped_early(run: Path) -> None:
    """The shape of a run a stop condition ended: steady_after and one fault never came."""
    r = read_report_file(run)
    why = "not run: stop condition stop if error_rate > 0.5 over 2 s tripped at 1.5 s"
    stop = r.stop_conditions[0].model_copy(update={
        "passed": False, "observed": 0.8, "detail": "tripped at 1.5 s: the run stopped early"})
    during = r.assertions[1].model_copy(update={
        "passed": False, "skipped": True, "observed": None, "requests": 0, "detail": why})
    after = r.steady_state.after[0].model_copy(update={
        "passed": False, "skipped": True, "observed": None, "requests": 0, "detail": why})
    write_report(run, r.model_copy(update={
        "verdict": "failed", "partial": True,
        "verdict_reasons": ("stop condition breached at 1.5 s: stop if error_rate > 0.5 over 2 s",),
        "stopped_early": StopInfo(condition=stop.name, at_s=1.5, observed=0.8),
        "stop_conditions": (stop,), "assertions": (r.assertions[0], during, r.assertions[2]),
        "steady_state": r.steady_state.model_copy(update={"after": (after,)})}))


@pytest.mark.parametrize("shape", ["passed", "failed", "broken", "stopped"])
def test_junit_validates_and_counts_match_report_json(
    make_run_dir: Callable[..., Path], schema: object, shape: str
) -> None:
    run = make_run_dir(verdict="failed" if shape == "stopped" else shape, duration_s=6)
    if shape == "stopped":
        _stopped_early(run)
    render_directory(run)
    schema.validate(str(run / "junit.xml"))  # type: ignore[attr-defined]
    r = read_report_file(run)
    checks = r.checks()
    xml = junitparser.JUnitXml.fromfile(str(run / "junit.xml"))
    cases = [case for suite in xml for case in suite]
    assert len(cases) == len(checks)  # one testcase per check, no invented "verdict" case
    assert [c.name for c in cases] == [c.name for c in checks]
    failed = sum(1 for c in checks if not c.passed and not c.skipped)
    skipped = sum(1 for c in checks if c.skipped)
    assert sum(1 for c in cases if any(isinstance(x, junitparser.Failure) for x in c.result)) == failed
    assert sum(1 for c in cases if any(isinstance(x, junitparser.Skipped) for x in c.result)) == skipped
    assert sum(int(s.tests) for s in xml) == len(checks)
    assert sum(int(s.failures) for s in xml) == failed
    assert sum(int(s.skipped or 0) for s in xml) == skipped
    assert int(xml.errors) == (1 if shape == "broken" else 0)
    if shape == "passed":
        assert failed == skipped == 0


def test_skipped_checks_say_why(make_run_dir: Callable[..., Path]) -> None:
    run = make_run_dir(verdict="failed", duration_s=6)
    _stopped_early(run)
    render_directory(run)
    xml = junitparser.JUnitXml.fromfile(str(run / "junit.xml"))
    results = {case.name: case.result for suite in xml for case in suite}
    (skip,) = results["success_rate >= 0.99 during provider-outage-fault"]
    assert isinstance(skip, junitparser.Skipped) and skip.message.startswith("not run: stop condition")
    (trip,) = results["stop if error_rate > 0.5 over 2 s"]
    assert isinstance(trip, junitparser.Failure) and trip.message.startswith("stop condition tripped")


def test_durations_and_timestamps_are_real(make_run_dir: Callable[..., Path]) -> None:
    run = make_run_dir(duration_s=9)
    render_directory(run)
    xml = junitparser.JUnitXml.fromfile(str(run / "junit.xml"))
    suites = {s.name.rsplit(".", 1)[1]: s for s in xml}
    assert suites["steady_state_before"].time == pytest.approx(3.0)  # the phase, not 0
    assert suites["steady_state_after"].time == pytest.approx(3.0)
    assert suites["steady_state_before"].timestamp == "2025-01-01T12:00:00"
    assert suites["steady_state_after"].timestamp == "2025-01-01T12:00:06"  # the phase's start
    during = next(c for c in suites["assertions"] if "during" in c.name)
    assert during.time == pytest.approx(3.0)  # the fault window
    assert xml.time == pytest.approx(9.0)


def test_the_fixture_schema_rejects_what_it_must(schema: object, tmp_path: Path) -> None:
    """The schema would catch the shapes junit.xml used to have (so validation can fail)."""
    bad = {
        "properties in a testcase": '<testcase name="x"><properties><property name="a" value="b"/>'
                                    "</properties></testcase>",
        "error in a testcase": '<testcase name="x"><error message="m"/></testcase>',
        "testcase without a name": "<testcase/>",
    }
    for label, case in bad.items():
        doc = (f'<testsuites><testsuite name="s" tests="1" failures="0" errors="0">{case}'
               "</testsuite></testsuites>")
        assert not schema.is_valid(doc), label  # type: ignore[attr-defined]
    assert not schema.is_valid('<testsuites time="1.2345"/>')  # type: ignore[attr-defined]
    assert schema.is_valid('<testsuites time="1.234"><testsuite name="s" tests="0" failures="0" '  # type: ignore[attr-defined]
                           'errors="0"/></testsuites>')
