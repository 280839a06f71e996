"""Cost from the upstreams' usage logs × catalog prices (chaos.runner.cost)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from chaos.providers.models import RequestLogEntry, UsageEntry
from chaos.report.model import FaultReport, Report
from chaos.report.records import RequestRecord
from chaos.runner.analysis import effect_windows
from chaos.runner.cost import (
    USAGE_FILE,
    UsageLogs,
    cost_ledger,
    fault_costs,
    prices_from_catalog,
    read_usage_logs,
    write_usage_file,
)
from chaos.runner.metrics import Window

PRICES = {"big": 0.01, "small": 0.001}


def rec(i: int, t: float, status: int = 200) -> RequestRecord:
    return RequestRecord(request_id=f"r{i}", sent_at_s=t, ended_at_s=t + 0.01, route="x",
                         tenant="t", status=status)


def logged(i: int, upstream: str, model: str, outcome: str = "ok",
           request_id: str | None = None) -> RequestLogEntry:
    return RequestLogEntry(received_at=1000.0 + i, received_mono=float(i), upstream=upstream,
                           served_model=model, request_id=request_id or f"r{i}",
                           path="/v1/chat/completions", outcome=outcome)


def usage(i: int, upstream: str, model: str, prompt: int, completion: int,
          request_id: str | None = None) -> UsageEntry:
    return UsageEntry(received_at=1000.0 + i, received_mono=float(i), answered_at=1000.1 + i,
                      upstream=upstream, served_model=model, request_id=request_id or f"r{i}",
                      prompt_tokens=prompt, completion_tokens=completion, usage_sent=True,
                      complete=True)


def ledger(records, entries, usages, prices=PRICES, all_ids=None):
    ids = all_ids if all_ids is not None else {r.request_id for r in records}
    return cost_ledger(records, ids, entries, UsageLogs(entries=tuple(usages), found=("a",)),
                       prices, catalog=None)


def test_total_per_1k_and_by_model_from_usage_times_price() -> None:
    records = [rec(i, 0.1 * i) for i in range(4)]
    entries = [logged(0, "a", "big"), logged(1, "a", "big"), logged(2, "b", "small"),
               logged(3, "b", "small")]
    usages = [usage(0, "a", "big", 100, 50), usage(1, "a", "big", 100, 150),
              usage(2, "b", "small", 400, 600), usage(3, "b", "small", 0, 0)]
    cost = ledger(records, entries, usages).metrics
    # big: 400 tokens x $0.01/1k = $0.004; small: 1000 tokens x $0.001/1k = $0.001
    assert cost.by_model["big"].usd == pytest.approx(0.004)
    assert cost.by_model["small"].usd == pytest.approx(0.001)
    assert cost.by_model["big"].requests == 2
    assert (cost.by_model["big"].prompt_tokens, cost.by_model["big"].completion_tokens) == (200, 200)
    assert cost.by_model["big"].usd_per_1k_tokens == 0.01
    assert cost.usd_total == pytest.approx(0.005)
    assert cost.usd_per_1k_requests == pytest.approx(1.25)  # $0.005 / 4 requests x 1000
    assert cost.requests == 4 and cost.reason is None
    assert cost.estimated.requests == 0
    assert [p.requests for p in cost.timeseries] == [4]


def test_a_failed_over_attempt_costs_too() -> None:
    records = [rec(1, 0.5)]
    entries = [logged(1, "a", "big", outcome="ok", request_id="r1"),
               logged(2, "b", "small", request_id="r1")]
    usages = [usage(1, "a", "big", 100, 0, request_id="r1"),  # cut off mid-answer
              usage(2, "b", "small", 100, 900, request_id="r1")]
    cost = ledger(records, entries, usages).metrics
    assert cost.usd_total == pytest.approx(0.001 + 0.001)


def test_answer_without_usage_is_estimated_and_counted_apart() -> None:
    records = [rec(i, 0.1 * i) for i in range(3)]
    entries = [logged(0, "a", "big"), logged(1, "a", "big"), logged(2, "a", "big")]
    # r2's upstream logged the request as answered but no usage entry (killed mid-answer)
    usages = [usage(0, "a", "big", 100, 100), usage(1, "a", "big", 300, 100)]
    cost = ledger(records, entries, usages).metrics
    assert cost.estimated.requests == 1
    assert (cost.estimated.prompt_tokens, cost.estimated.completion_tokens) == (200, 100)
    assert cost.estimated.usd == pytest.approx(0.003)
    big = cost.by_model["big"]
    assert big.requests == 3 and big.estimated_requests == 1
    assert big.estimated_prompt_tokens == 200 and big.prompt_tokens == 600
    assert cost.usd_total == pytest.approx(0.006 + 0.003)


def test_estimate_falls_back_to_other_models_reports() -> None:
    records = [rec(0, 0.0), rec(1, 0.1)]
    entries = [logged(0, "a", "big"), logged(1, "b", "small")]
    cost = ledger(records, entries, [usage(0, "a", "big", 10, 20)]).metrics
    assert cost.by_model["small"].estimated_requests == 1
    assert cost.by_model["small"].prompt_tokens == 10


def test_error_outcomes_are_not_estimated() -> None:
    records = [rec(0, 0.0), rec(1, 0.1, status=502)]
    entries = [logged(0, "a", "big"), logged(1, "a", "big", outcome="error_500")]
    cost = ledger(records, entries, [usage(0, "a", "big", 10, 20)]).metrics
    assert cost.estimated.requests == 0 and cost.by_model["big"].requests == 1


def test_no_usage_logs_is_no_data_not_zero(tmp_path: Path) -> None:
    logs = read_usage_logs(tmp_path, ["a", "b"])
    assert logs.problem is not None and "no upstream usage logs" in logs.problem
    cost = cost_ledger([rec(0, 0.0)], {"r0"}, [logged(0, "a", "big")], logs, PRICES,
                       catalog=None).metrics
    assert cost.usd_total is None and cost.usd_per_1k_requests is None
    assert cost.reason == logs.problem and cost.by_model == {}
    assert write_usage_file(tmp_path, logs) is None


def test_zero_requests_is_no_data() -> None:
    cost = ledger([], [], [usage(0, "a", "big", 10, 10)]).metrics
    assert cost.usd_total is None and cost.usd_per_1k_requests is None
    assert cost.reason == "no requests in the measured phases"


def test_answers_but_no_usage_reported_at_all_is_no_data() -> None:
    cost = ledger([rec(0, 0.0)], [logged(0, "a", "big")], []).metrics
    assert cost.usd_total is None and "no usage reported" in (cost.reason or "")


def test_requests_that_all_failed_cost_a_real_zero() -> None:
    records = [rec(0, 0.0, status=503)]
    cost = ledger(records, [logged(0, "a", "big", outcome="error_500")], []).metrics
    assert cost.usd_total == 0.0 and cost.usd_per_1k_requests == 0.0 and cost.reason is None


def test_unpriced_model_makes_the_total_unknown() -> None:
    records = [rec(0, 0.0), rec(1, 0.1)]
    entries = [logged(0, "a", "big"), logged(1, "c", "mystery")]
    usages = [usage(0, "a", "big", 100, 0), usage(1, "c", "mystery", 100, 0)]
    result = ledger(records, entries, usages)
    cost = result.metrics
    assert cost.usd_total is None and "mystery" in (cost.reason or "")
    assert cost.by_model["mystery"].usd is None and cost.by_model["big"].usd == pytest.approx(0.001)
    assert all(p.usd is None for p in cost.timeseries)
    assert result.window(records, Window(0, 1))[1:3] == (None, None)


def test_probes_are_unattributed_and_warmup_counts_nowhere() -> None:
    records = [rec(1, 1.0)]
    entries = [logged(0, "a", "big", request_id="warm"), logged(1, "a", "big"),
               logged(2, "a", "big", request_id="probe")]
    usages = [usage(0, "a", "big", 1000, 0, request_id="warm"), usage(1, "a", "big", 100, 0),
              usage(2, "a", "big", 50, 50, request_id="probe")]
    cost = ledger(records, entries, usages, all_ids={"warm", "r1"}).metrics
    assert cost.usd_total == pytest.approx(0.001)
    assert cost.unattributed.requests == 1 and cost.unattributed.usd == pytest.approx(0.001)


def test_prices_from_catalog_skips_non_numbers() -> None:
    assert prices_from_catalog({"a": {"cost_per_1k_tokens": 1}, "b": {"cost_per_1k_tokens": -1},
                                "c": {"cost_per_1k_tokens": "1"}, "d": 3}) == {"a": 1.0}


def test_read_and_write_usage_logs(tmp_path: Path) -> None:
    usage_dir = tmp_path / "usage"
    usage_dir.mkdir()
    (usage_dir / "a.jsonl").write_bytes(
        orjson.dumps(usage(2, "a", "big", 1, 2).model_dump()) + b"\n"
        + orjson.dumps(usage(1, "a", "big", 3, 4).model_dump()) + b"\n")
    logs = read_usage_logs(tmp_path, ["a", "b"])  # b kept no log: a still counts
    assert logs.problem is None and logs.found == ("a",)
    assert [e.received_mono for e in logs.entries] == [1.0, 2.0]
    out = tmp_path / "run"
    out.mkdir()
    assert write_usage_file(out, logs) == USAGE_FILE
    assert len((out / USAGE_FILE).read_bytes().splitlines()) == 2


def test_invalid_usage_log_is_a_located_problem(tmp_path: Path) -> None:
    (tmp_path / "usage").mkdir()
    (tmp_path / "usage" / "a.jsonl").write_text('{"nope": 1}\n{"also": 2}\n')
    logs = read_usage_logs(tmp_path, ["a"])
    assert logs.problem is not None and "a.jsonl" in logs.problem and logs.entries == ()


def _fault(applied: float | None, reverted: float | None) -> FaultReport:
    return FaultReport(name="down", kind="upstream_down", target="a", params={}, planned_at_s=2,
                       planned_duration_s=2, applied_at_s=applied, reverted_at_s=reverted,
                       status="reverted" if applied is not None else "not_reached")


def _windows(faults, records):
    return {f.name: w for f in faults if (w := effect_windows(f, records)) is not None}


def test_fault_cost_before_and_during() -> None:
    # before [0, 2): two requests on the cheap model; during [2, 4): two on the pricey one
    records = [rec(0, 0.5), rec(1, 1.5), rec(2, 2.5), rec(3, 3.5)]
    entries = [logged(0, "b", "small"), logged(1, "b", "small"), logged(2, "a", "big"),
               logged(3, "a", "big")]
    usages = [usage(0, "b", "small", 500, 500), usage(1, "b", "small", 500, 500),
              usage(2, "a", "big", 500, 500), usage(3, "a", "big", 500, 500)]
    book = ledger(records, entries, usages)
    faults = (_fault(2.0, 4.0),)
    (fault,) = fault_costs(faults, book, records, _windows(faults, records))
    assert fault.cost is not None
    assert fault.cost.requests_before == 2 and fault.cost.requests_during == 2
    assert fault.cost.usd_per_1k_requests_before == pytest.approx(1.0)
    assert fault.cost.usd_per_1k_requests_during == pytest.approx(10.0)
    assert fault.cost.usd_during == pytest.approx(0.02) and fault.cost.reason is None


def test_fault_window_without_requests_is_null_with_reason() -> None:
    records = [rec(2, 2.5)]
    book = ledger(records, [logged(2, "a", "big")], [usage(2, "a", "big", 500, 500)])
    faults = (_fault(2.0, 4.0), _fault(None, None).model_copy(update={"name": "never"}))
    applied, never = fault_costs(faults, book, records, _windows(faults, records))
    assert applied.cost is not None and applied.cost.usd_per_1k_requests_before is None
    assert applied.cost.requests_before == 0
    assert applied.cost.reason == "before: no requests in the window"
    assert applied.cost.usd_per_1k_requests_during == pytest.approx(10.0)
    assert never.cost is None


def test_fault_cost_unknown_when_run_cost_unknown() -> None:
    records = [rec(2, 2.5)]
    book = cost_ledger(records, {"r2"}, [], UsageLogs(problem="no upstream usage logs"), PRICES,
                       catalog=None)
    faults = (_fault(2.0, 4.0),)
    (fault,) = fault_costs(faults, book, records, _windows(faults, records))
    assert fault.cost is not None and fault.cost.usd_per_1k_requests_during is None
    assert fault.cost.reason == "no upstream usage logs" and fault.cost.requests_during == 1


def test_old_reports_without_cost_still_parse() -> None:
    fields = Report.model_json_schema()["$defs"]["Metrics"]["properties"]
    assert "cost" in fields
    assert "cost" not in Report.model_json_schema()["$defs"]["Metrics"].get("required", [])
