from __future__ import annotations

from governance.decision import Decision, DecisionInput
from governance.engine.cases import CaseExpectation, DecisionCase, check_case

_REASON = "data_class_ceiling: pii may not reach cloud hosting (gpt-4o-cloud-us)"
_DENIED = Decision(allow=False, denied={"gpt-4o-cloud-us": (_REASON,)}, reasons=(_REASON,))


def _case(**expect) -> DecisionCase:
    return DecisionCase(
        name="c",
        file="cases.yaml",
        input=DecisionInput(route="r", tenant="t"),
        expect=CaseExpectation(allow=False, **expect),
    )


def test_reason_expectations_match_substrings() -> None:
    case = _case(
        denied_reasons_contain={"gpt-4o-cloud-us": "data_class_ceiling: pii"},
        reasons_contain=["data_class_ceiling:", "(gpt-4o-cloud-us)"],
    )
    assert check_case(case, _DENIED) == []


def test_whole_reasons_still_match() -> None:
    case = _case(denied_reasons_contain={"gpt-4o-cloud-us": _REASON}, reasons_contain=[_REASON])
    assert check_case(case, _DENIED) == []


def test_substring_of_no_reason_is_reported() -> None:
    case = _case(
        denied_reasons_contain={"gpt-4o-cloud-us": "residency:", "phi-3-mini-edge": "route_model:"},
        reasons_contain=["cost_ceiling:"],
    )
    problems = check_case(case, _DENIED)
    assert any(p.startswith("denied[gpt-4o-cloud-us]: missing ['residency:']") for p in problems)
    assert any(p.startswith("denied[phi-3-mini-edge]: missing ['route_model:']") for p in problems)
    assert any(p.startswith("reasons: missing ['cost_ceiling:']") for p in problems)


_CATALOG = {"govchaos": {"catalog": {"models": {"gpt-4o-cloud-us": {"provider": "openai", "hosting": "cloud", "region": "us"}}}}}
_GOOD = """\
cases:
  - name: ok
    input: {route: r, tenant: t, candidates: [gpt-4o-cloud-us]}
    expect: {allow: true}
"""


def _load_error(tmp_path, text: str):
    import pytest

    from governance.engine.cases import load_case_files
    from governance.errors import PolicyInputError

    path = tmp_path / "cases.yaml"
    path.write_text(text)
    with pytest.raises(PolicyInputError) as info:
        load_case_files([str(path)], _CATALOG)
    return info.value


def test_unknown_candidate_error_names_its_line(tmp_path) -> None:
    err = _load_error(tmp_path, _GOOD + """\
  - name: second
    input:
      route: r
      tenant: t
      candidates:
        - gpt-4o-cloud-us
        - no-such-model
    expect: {allow: false}
""")
    loc = err.location
    assert (loc.line, loc.column, loc.field) == (11, 11, "cases[1].input.candidates[1]")
    assert err.diagnostics().startswith(f"{tmp_path / 'cases.yaml'}:11:11: cases[1].input.candidates[1]")


def test_wrong_type_and_missing_field_get_a_line(tmp_path) -> None:
    err = _load_error(tmp_path, _GOOD + "  - name: typed\n    input: {route: r, tenant: t, max_tokens: lots}\n"
                      "    expect: {allow: true}\n")
    assert (err.location.line, err.location.field) == (6, "cases[1].input.max_tokens")
    # a missing field points at the case that lacks it
    err = _load_error(tmp_path, _GOOD + "  - name: no-expect\n    input: {route: r, tenant: t}\n")
    assert err.location.line == 5 and err.location.field.startswith("cases[1]")


def test_duplicate_name_points_at_the_second(tmp_path) -> None:
    err = _load_error(tmp_path, _GOOD + _GOOD.split("\n", 1)[1])
    assert (err.location.line, err.location.field) == (5, "cases[1].name")
    assert "duplicate case name 'ok'" in err.message
