"""The cost section of report.html and report.md (chaos.report.costs, chart.cost_svg)."""

from __future__ import annotations

from pathlib import Path

from chaos.report import load_view, render_html, render_markdown
from chaos.report.chart import cost_svg
from chaos.report.cost_model import CostCatalog, CostMetrics, CostPoint, FaultCost, ModelCost
from chaos.report.costs import cost_summary, usd
from chaos.report.model import REPORT_FILE, read_report, write_report
from chaos.report.view import FaultSpan

EVIL = "m<script>|*x*"


def _with_cost(run_dir: Path, cost: CostMetrics, fault_cost: FaultCost | None) -> Path:
    report = read_report(run_dir / REPORT_FILE)
    assert report.metrics is not None and report.faults
    faults = tuple(f.model_copy(update={"cost": fault_cost}) for f in report.faults)
    write_report(run_dir, report.model_copy(update={
        "metrics": report.metrics.model_copy(update={"cost": cost}), "faults": faults}))
    return run_dir


COST = CostMetrics(
    usd_total=0.0036036, usd_per_1k_requests=0.009009, requests=400,
    by_model={
        "gpt-4o-cloud-eu": ModelCost(requests=24, prompt_tokens=168, completion_tokens=96,
                                     usd_per_1k_tokens=0.00625, usd=0.00165),
        EVIL: ModelCost(requests=3, prompt_tokens=30, completion_tokens=12, estimated_requests=1,
                        estimated_prompt_tokens=10, estimated_completion_tokens=4,
                        usd_per_1k_tokens=0.0004, usd=0.0000168),
    },
    catalog=CostCatalog(source="../policies: data.govchaos.catalog.models", policy_sha256="ab" * 32,
                        usd_per_1k_tokens={"gpt-4o-cloud-eu": 0.00625}),
    usage_file="upstream-usage.jsonl",
    timeseries=(CostPoint(t_s=0, requests=10, usd=0.0003, usd_per_1k_requests=0.03),
                CostPoint(t_s=1, requests=10, usd=0.0001, usd_per_1k_requests=0.01)),
)
FAULT = FaultCost(requests_before=40, usd_before=0.00132, usd_per_1k_requests_before=0.033,
                  requests_during=280, usd_during=0.0022836, usd_per_1k_requests_during=0.008156)


def test_html_has_cost_curve_totals_models_and_faults(make_run_dir) -> None:
    run = _with_cost(make_run_dir(), COST, FAULT)
    html = render_html(load_view(run))
    section = html[html.index("What it cost"):]
    assert 'aria-label="cost per 1000 requests over time"' in section
    chart = section[section.index("<svg"):section.index("</svg>")]
    assert 'fill-opacity="0.18"' in chart  # the fault window is shaded
    assert "<polyline" in chart
    for figure in ("$0.0036036", "$0.009009", "$0.00165", "$0.00625", "168 + 96",
                   "$0.033", "$0.008156", "-75%", "upstream-usage.jsonl"):
        assert figure in section, figure
    assert "<script>|" not in html and "m&lt;script&gt;" in section
    assert "1 (10 + 4)" in section  # the estimated answer of EVIL


def test_markdown_has_cost_tables(make_run_dir) -> None:
    run = _with_cost(make_run_dir(), COST, FAULT)
    md = render_markdown(load_view(run))
    assert "**Cost:** $0.0036036 total, $0.009009 per 1,000 requests (400 requests" in md
    assert "| gpt-4o-cloud-eu | 24 | 168 + 96 | 0 | $0.00625 | $0.00165 |" in md
    assert "| fault | requests before | per 1k before |" in md
    assert "| $0.033 | 280 | $0.008156 | -75% |" in md
    assert "1 answers had no usage reported" not in md  # the top-level estimate is empty here
    assert "m&lt;script>\\|\\*x\\*" in md


def test_unknown_cost_shows_na_and_the_reason_never_zero(make_run_dir) -> None:
    unknown = CostMetrics(requests=12, reason="no upstream usage logs (looked in /x/usage)")
    fault = FaultCost(requests_before=0, requests_during=12, reason="no upstream usage logs")
    run = _with_cost(make_run_dir(), unknown, fault)
    html = render_html(load_view(run))
    section = html[html.index("What it cost"):]
    assert "no upstream usage logs (looked in /x/usage)" in section
    assert "no cost figures were recorded" in section
    assert "$0<" not in section and "$0 " not in section
    md = render_markdown(load_view(run))
    assert "**Cost:** n/a total, n/a per 1,000 requests (12 requests" in md
    assert "n/a: no upstream usage logs" in md


def test_reports_without_cost_render_no_cost_section(run_dir: Path) -> None:
    view = load_view(run_dir)
    assert view.report.metrics is not None and view.report.metrics.cost is None
    assert "What it cost" not in render_html(view)
    assert "**Cost:**" not in render_markdown(view)


def test_cost_svg_skips_unknown_seconds_and_shades_faults() -> None:
    span = FaultSpan(name="down", kind="upstream_down", target="a", start_s=1.0, end_s=2.0)
    svg = cost_svg([(0, 0.5, 10), (1, None, 10), (2, 1.5, 10)], [span], average=1.0)
    assert svg.count("<circle") == 2 and 'fill-opacity="0.18"' in svg
    assert 'stroke-dasharray="6,4"' in svg  # the average
    assert "no cost figures" in cost_svg([(0, None, 3)], [])


def test_usd_formatting() -> None:
    assert usd(0.0000168) == "$0.0000168"
    assert usd(1.5e-05) == "$0.000015"
    assert usd(1234.5) == "$1,234.50"
    assert usd(0) == "$0" and usd(None) == "n/a"


def test_console_summary_line(make_run_dir, run_dir: Path) -> None:
    report = read_report(_with_cost(make_run_dir(), COST, FAULT) / REPORT_FILE)
    line = cost_summary(report)
    assert line is not None and line.startswith("cost: $0.0036036 for 400 requests ($0.009009 per 1k")
    assert "$0.033 per 1k before, $0.008156 during" in line
    assert cost_summary(read_report(run_dir / REPORT_FILE)) is None
