from __future__ import annotations

import sys

import pytest

from governance.engine import load_bundle
from governance.engine.cases import load_case_files
from governance.engine.policy_tests import PolicyTestRunner, discover_rego_tests
from governance.errors import PolicyInputError


async def test_runs_rego_tests_and_cases(fixtures) -> None:
    report = await PolicyTestRunner(load_bundle(fixtures / "basic")).run()
    by_name = {r.name: r for r in report.results}
    assert by_name["data.govchaos.gateway_test.test_private_allowed_for_pii"].status == "PASS"
    failing = by_name["data.govchaos.gateway_test.test_deliberately_failing"]
    assert failing.status == "FAIL" and failing.detail == "undefined"
    assert by_name["case:pii-cloud-only-denied"].status == "PASS"
    assert report.summary() == "5 passed, 1 failed, 0 errors" and report.exit_code == 1
    assert report.lines()[-1] == report.summary()


async def test_crashing_test_is_error_and_run_continues(fixtures) -> None:
    worker = [sys.executable, str(fixtures.parent / "crashing_worker.py")]
    report = await PolicyTestRunner(load_bundle(fixtures / "crashy"), worker_command=worker).run()
    statuses = {r.name.rsplit(".", 1)[-1]: (r.status, r.detail) for r in report.results}
    assert statuses["test_before"][0] == "PASS"
    assert statuses["test_crash_here"] == ("ERROR", "engine crashed (SIGSEGV)")
    assert statuses["test_membership_under_with"][0] == "PASS"  # fresh worker after the crash
    assert statuses["test_after"][0] == "PASS"


async def test_real_regopy_segfault_is_isolated(fixtures) -> None:
    # regopy 1.5.2 segfaults on set membership under `with input as` (and, since it compiles
    # the whole test package per query, on every test of that package); the cases still run.
    report = await PolicyTestRunner(load_bundle(fixtures / "basic"), engine="regopy").run()
    rego = [r for r in report.results if r.kind == "rego"]
    cases = [r for r in report.results if r.kind == "case"]
    assert rego and all(r.status in ("ERROR", "PASS", "FAIL") for r in rego)
    assert any(r.detail == "engine crashed (SIGSEGV)" for r in rego)
    assert [r.status for r in cases] == ["PASS", "PASS", "PASS"]


async def test_hanging_test_times_out(tmp_path, fixtures) -> None:
    (tmp_path / "p_test.rego").write_text("package t\nimport rego.v1\ntest_hang if { true }\ntest_ok if { true }\n")
    worker = [sys.executable, str(fixtures.parent / "crashing_worker.py")]
    runner = PolicyTestRunner(load_bundle(tmp_path), worker_command=worker, test_timeout_s=1.0)
    report = await runner.run()
    assert [(r.status, r.detail) for r in report.results] == [
        ("ERROR", "timed out after 1 s"),
        ("PASS", ""),
    ]


def test_discovers_test_rules_once(tmp_path) -> None:
    (tmp_path / "a_test.rego").write_text(
        "package a.b\nimport rego.v1\ntest_x if { true }\ntest_x if { false }\ntest_y := true\nnot_a_test if { true }\n"
    )
    assert discover_rego_tests(load_bundle(tmp_path)) == ["data.a.b.test_x", "data.a.b.test_y"]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("cases: [{name: a, input: {route: r, tenant: t}, expect: {}}]", "cases[0].expect.allow"),
        ("cases: [{name: a, input: {route: r, tenant: t, candidates: [nope]}, expect: {allow: true}}]", "cases[0].input.candidates[0]"),
        ("cases: [{name: a, input: {route: r, tenant: t, bogus: 1}, expect: {allow: true}}]", "cases[0].input.bogus"),
        ("cases:\n  - name: a\n    input: {route: r\n", "c.yaml:"),
        ("cases: [{name: a, input: {route: r, tenant: t}, expect: {allow: true}}, {name: a, input: {route: r, tenant: t}, expect: {allow: true}}]", "duplicate case name"),
    ],
)
def test_invalid_case_files_name_file_and_field(tmp_path, fixtures, text, where) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    data = load_bundle(fixtures / "basic").data
    with pytest.raises(PolicyInputError) as err:
        load_case_files([str(path)], data)
    assert where in err.value.diagnostics() and "c.yaml" in err.value.diagnostics()


def test_string_candidates_expand_from_catalog(fixtures) -> None:
    bundle = load_bundle(fixtures / "basic")
    cases = load_case_files(bundle.case_files, bundle.data)
    cand = cases[0].input.candidates[0]
    assert (cand.id, cand.hosting, cand.provider, cand.region, cand.healthy) == (
        "cloud-a", "cloud", "openai", "us-east-1", True,
    )
