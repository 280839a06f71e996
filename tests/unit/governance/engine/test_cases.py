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
