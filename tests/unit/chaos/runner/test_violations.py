from __future__ import annotations

from dataclasses import dataclass

from chaos.report.records import RequestRecord
from chaos.runner.violations import candidates_for, count_violations
from chaos.scenario.model import UpstreamSpec
from governance.decision import Decision, DecisionInput

UPSTREAMS = [
    UpstreamSpec(name="priv", model="llama-3.1-70b-private-eu", hosting="private", region="eu"),
    UpstreamSpec(name="cloud", model="gpt-4o-cloud-eu", hosting="cloud", region="eu"),
]


PROMPT = "Summarise the case in one sentence."


@dataclass
class Entry:
    upstream: str
    served_model: str
    request_id: str | None = None
    user: str | None = None
    content_request_ids: tuple[str, ...] = ()
    content_excerpt: str | None = None
    probe_header: str | None = None


def probe(upstream: str, model: str, *, header: bool = True) -> Entry:
    """What the reference gateway's background health probe leaves in an upstream's log."""
    return Entry(upstream, model, request_id="govchaos-probe-0123abcd", user="govchaos:probe",
                 content_excerpt="ping", probe_header="1" if header else None)


def fake_policy(inp: DecisionInput) -> Decision:
    """PII may only reach private models; everything else may go anywhere."""
    if "pii" in inp.data_classes:
        allowed = tuple(c.id for c in inp.candidates if c.hosting == "private")
    else:
        allowed = tuple(c.id for c in inp.candidates)
    return Decision(allow=bool(allowed), allowed=allowed)


def record(i: str, dc: tuple[str, ...]) -> RequestRecord:
    return RequestRecord(request_id=i, sent_at_s=0, ended_at_s=0.01, route="claims-triage",
                         tenant="acme-health", data_classes=dc, status=200)


async def test_clean_traffic_has_no_violations() -> None:
    records = {"1": record("1", ("pii",)), "2": record("2", ("public",))}
    entries = [
        Entry("priv", "llama-3.1-70b-private-eu", request_id="1"),
        Entry("cloud", "gpt-4o-cloud-eu", user="govchaos:2"),
    ]
    summary = await count_violations(entries, records, candidates_for(UPSTREAMS), fake_policy)
    assert summary.count == 0 and summary.checked == 2
    assert summary.by_model == {"llama-3.1-70b-private-eu": 1, "gpt-4o-cloud-eu": 1}


async def test_planted_pii_on_cloud_is_caught() -> None:
    records = {"1": record("1", ("pii",))}
    entries = [
        Entry("priv", "llama-3.1-70b-private-eu", request_id="1"),
        Entry("cloud", "gpt-4o-cloud-eu", request_id="1"),  # the failover that broke policy
    ]
    summary = await count_violations(entries, records, candidates_for(UPSTREAMS), fake_policy)
    assert summary.count == 1
    (violation,) = summary.violations
    assert violation.model == "gpt-4o-cloud-eu" and violation.reason == "model not allowed"
    assert violation.allowed == ("llama-3.1-70b-private-eu",)


async def test_unattributable_client_content_counts() -> None:
    # A gateway that stripped marker, header and user but forwarded the client's prompt.
    entries = [Entry("cloud", "gpt-4o-cloud-eu", content_excerpt=PROMPT),
               Entry("cloud", "gpt-4o-cloud-eu", user="bob", content_excerpt=f"sys\n{PROMPT}")]
    summary = await count_violations(entries, {}, candidates_for(UPSTREAMS), fake_policy,
                                     client_texts=[PROMPT])
    assert summary.count == 2 and summary.probes == 0
    assert {v.reason for v in summary.violations} == {"unattributable request"}


async def test_planted_probe_is_not_a_violation() -> None:
    records = {"1": record("1", ("pii",))}
    entries = [
        Entry("priv", "llama-3.1-70b-private-eu", content_request_ids=("1",)),
        probe("cloud", "gpt-4o-cloud-eu"),
        probe("priv", "llama-3.1-70b-private-eu"),
        # an external gateway's unlabelled health check: no client data either
        Entry("cloud", "gpt-4o-cloud-eu", content_excerpt="hello"),
    ]
    summary = await count_violations(entries, records, candidates_for(UPSTREAMS), fake_policy,
                                     client_texts=[PROMPT])
    assert summary.count == 0 and summary.checked == 4
    assert summary.probes == 3 and summary.probes_labelled == 2
    assert summary.probes_by_upstream == {"cloud": 2, "priv": 1}


async def test_probe_label_does_not_hide_client_data() -> None:
    # A "probe" carrying a PII request's marker is that request reaching the cloud model.
    records = {"1": record("1", ("pii",))}
    smuggled = Entry("cloud", "gpt-4o-cloud-eu", request_id="govchaos-probe-1",
                     user="govchaos:probe", probe_header="1", content_request_ids=("1",),
                     content_excerpt=f"{PROMPT} [govchaos-request-id:1]")
    summary = await count_violations([smuggled, probe("cloud", "gpt-4o-cloud-eu")], records,
                                      candidates_for(UPSTREAMS), fake_policy,
                                      client_texts=[PROMPT])
    assert summary.count == 1 and summary.probes == 1
    assert summary.violations[0].reason == "model not allowed"
    assert summary.violations[0].request_id == "1"


async def test_content_marker_beats_header_and_user() -> None:
    # The header/user claim a public request; the content says the PII one reached the cloud.
    records = {"1": record("1", ("pii",)), "2": record("2", ("public",))}
    entries = [Entry("cloud", "gpt-4o-cloud-eu", request_id="2", user="govchaos:2",
                     content_request_ids=("1",))]
    summary = await count_violations(entries, records, candidates_for(UPSTREAMS), fake_policy)
    assert summary.count == 1 and summary.violations[0].request_id == "1"
    # and a gateway that drops headers and user entirely is still attributed by content
    clean = [Entry("priv", "llama-3.1-70b-private-eu", content_request_ids=("1",)),
             Entry("cloud", "gpt-4o-cloud-eu", content_request_ids=("2",))]
    summary = await count_violations(clean, records, candidates_for(UPSTREAMS), fake_policy)
    assert summary.count == 0 and summary.probes == 0


async def test_unknown_and_mixed_markers_are_violations() -> None:
    records = {"1": record("1", ("pii",)), "2": record("2", ("public",)),
               "3": record("3", ("public",))}
    entries = [
        Entry("priv", "llama-3.1-70b-private-eu", content_request_ids=("99",)),
        Entry("priv", "llama-3.1-70b-private-eu", content_request_ids=("1", "2")),
        Entry("cloud", "gpt-4o-cloud-eu", content_request_ids=("2", "3")),  # same decision: ok
    ]
    summary = await count_violations(entries, records, candidates_for(UPSTREAMS), fake_policy)
    assert summary.count == 2
    assert [v.reason for v in summary.violations] == [
        "unknown request marker", "markers of requests with different decisions"]


async def test_async_decide_and_cache() -> None:
    calls = 0

    async def decide(inp: DecisionInput) -> Decision:
        nonlocal calls
        calls += 1
        return fake_policy(inp)

    records = {str(i): record(str(i), ("pii",)) for i in range(20)}
    entries = [Entry("priv", "llama-3.1-70b-private-eu", request_id=str(i)) for i in range(20)]
    summary = await count_violations(entries, records, candidates_for(UPSTREAMS), decide)
    assert summary.count == 0 and calls == 1


async def test_deny_all_decision_makes_every_entry_a_violation() -> None:
    records = {"1": record("1", ())}
    entries = [Entry("priv", "llama-3.1-70b-private-eu", request_id="1")]
    summary = await count_violations(
        entries, records, candidates_for(UPSTREAMS), lambda inp: Decision.deny("engine down")
    )
    assert summary.count == 1


def test_candidates_take_the_policy_catalog_attributes() -> None:
    from chaos.runner.violations import catalog_models

    data = {"govchaos": {"catalog": {"models": {
        "gpt-4o-cloud-eu": {"provider": "openai", "hosting": "cloud", "region": "eu-west-1",
                            "version": "x", "cost_per_1k_tokens": 0.005, "tags": ["a"]}}}}}
    cands = {c.id: c for c in candidates_for(UPSTREAMS, catalog_models(data))}
    assert cands["gpt-4o-cloud-eu"].region == "eu-west-1"
    assert cands["gpt-4o-cloud-eu"].provider == "openai"
    assert cands["llama-3.1-70b-private-eu"].region == "eu"  # not in catalog: scenario's claim
    assert catalog_models({}) == {}
