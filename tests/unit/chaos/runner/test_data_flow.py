"""Data-flow violations: PII carried into a step that declares less, judged by the policy."""

from __future__ import annotations

from dataclasses import dataclass

from chaos.report.records import RequestRecord
from chaos.runner.data_flow import count_data_flow_violations
from chaos.runner.violations import candidates_for
from chaos.scenario.model import UpstreamSpec
from governance.decision import Decision, DecisionInput

UPSTREAMS = [
    UpstreamSpec(name="priv", model="llama-3.1-70b-private-eu", hosting="private", region="eu"),
    UpstreamSpec(name="cloud", model="gpt-4o-cloud-eu", hosting="cloud", region="eu"),
]
CANDIDATES = candidates_for(UPSTREAMS)


@dataclass
class Entry:
    upstream: str
    served_model: str
    content_request_ids: tuple[str, ...] = ()
    content_carried_ids: tuple[str, ...] = ()


def policy(inp: DecisionInput) -> Decision:
    """PII may only reach private models."""
    private = tuple(c.id for c in inp.candidates if c.hosting == "private")
    allowed = private if "pii" in inp.data_classes else tuple(c.id for c in inp.candidates)
    return Decision(allow=True, allowed=allowed, reasons=())


def record(rid: str, step: str, classes: tuple[str, ...], t: float) -> RequestRecord:
    return RequestRecord(request_id=rid, sent_at_s=t, ended_at_s=t + 0.01, route="r",
                         tenant="t", data_classes=classes, status=200, workflow="claims",
                         workflow_id="w1", step=step, attempt=1)


RECORDS = {
    "a": record("a", "intake", ("pii",), 1.0),
    "b": record("b", "assess", ("pii",), 1.1),
    "c": record("c", "draft", ("internal",), 1.2),
}


async def test_pii_laundered_into_an_internal_step_on_cloud_is_a_violation_with_its_path() -> None:
    entries = [Entry("cloud", "gpt-4o-cloud-eu", ("c",), ("a", "b"))]
    summary = await count_data_flow_violations(entries, RECORDS, CANDIDATES, policy)
    assert summary.checked == 1 and summary.count == 1
    v = summary.violations[0]
    assert v.path == ("claims/intake", "claims/assess", "claims/draft", "gpt-4o-cloud-eu")
    assert v.carried == ("pii",) and v.declared == ("internal",) and v.step == "draft"
    assert v.allowed == ("llama-3.1-70b-private-eu",) and v.sent_at_s == 1.2
    assert summary.by_step == {"claims/draft": 1}


async def test_the_same_content_on_a_private_model_is_allowed() -> None:
    entries = [Entry("priv", "llama-3.1-70b-private-eu", ("c",), ("a", "b"))]
    summary = await count_data_flow_violations(entries, RECORDS, CANDIDATES, policy)
    assert summary.checked == 1 and summary.count == 0


async def test_carrying_only_what_the_step_declares_is_no_data_flow_question() -> None:
    # assess (pii) built from intake (pii): the per-request check covers it.
    entries = [Entry("cloud", "gpt-4o-cloud-eu", ("b",), ("a",))]
    summary = await count_data_flow_violations(entries, RECORDS, CANDIDATES, policy)
    assert summary.count == 0


async def test_no_carried_markers_nothing_checked_and_unknown_ones_fail_closed() -> None:
    clean = await count_data_flow_violations(
        [Entry("cloud", "gpt-4o-cloud-eu", ("c",))], RECORDS, CANDIDATES, policy)
    assert clean.checked == 0 and clean.count == 0
    forged = await count_data_flow_violations(
        [Entry("cloud", "gpt-4o-cloud-eu", ("c",), ("zz",))], RECORDS, CANDIDATES, policy)
    assert forged.count == 1 and forged.violations[0].reason == "unknown carried marker"
