"""report.html, report.md and junit.xml from synthetic run directories."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from chaos.report import finalize_report, load_view, render_directory, render_html, render_markdown
from chaos.report.chart import bars_svg, timeline_svg
from chaos.report.markdown import md_text
from chaos.report.series import buckets_from_rows

HOSTILE = 'evil<script>alert(1)</script>"&\'|*x*'


def test_html_puts_verdict_first_and_has_every_section(signed_dir: Path) -> None:
    html = (signed_dir / "report.html").read_text()
    sections = ["PASSED", "Evidence", "The scenario", "Assertions, steady-state probes and stop conditions",
                "What happened: latency and success", "Traffic by model over time", "<h3>Timeline</h3>",
                "Who serves what", "Model × data class", "Faults as applied", "<h2>Traffic by model</h2>",
                "Traffic by data class",
                "Failovers by reason", "Policy decisions", "Digests", "Environment", "How to verify"]
    positions = [html.index(s) for s in sections]
    assert positions == sorted(positions)
    assert "govchaos report verify " in html
    assert "ephemeral key" in html and "integrity" in html


def test_html_is_self_contained(signed_dir: Path) -> None:
    html = (signed_dir / "report.html").read_text()
    assert "<script" not in html.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert "url(" not in html and "@import" not in html
    assert "Content-Security-Policy" in html


def test_html_chart_shades_fault_windows(signed_dir: Path) -> None:
    html = (signed_dir / "report.html").read_text()
    svg = html[html.index("<svg"):]
    chart = svg[:svg.index("</svg>")]
    assert chart.count("fill-opacity=\"0.18\"") == 2  # one fault window, shaded in both panels
    assert "<polyline" in svg


def test_everything_from_yaml_is_escaped(make_run_dir: Callable[..., Path]) -> None:
    run = make_run_dir(scenario_name=HOSTILE, verdict="failed")
    finalize_report(run)
    html = (run / "report.html").read_text()
    assert "<script>" not in html and "alert(1)</script>" not in html
    assert "evil&lt;script&gt;" in html
    md = (run / "report.md").read_text()
    assert "<script>" not in md and "\\|" in md
    root = ET.parse(run / "junit.xml").getroot()  # still well-formed XML
    assert root.get("name", "").endswith(HOSTILE)


def test_markdown_summary(signed_dir: Path) -> None:
    md = (signed_dir / "report.md").read_text()
    assert md.startswith("## ") and "**PASSED**" in md
    assert "| ✅ PASS | success\\_rate >= 0.95 | assertion | >= 0.95 |" in md
    assert "Policy violations:** 0 of" in md
    assert "```sh\ngovchaos report verify .\n```" in md  # relative to the report directory
    assert str(signed_dir) not in md
    assert "Ephemeral key" in md


def test_markdown_escaping() -> None:
    assert md_text("a|b") == "a\\|b"
    assert md_text("<img src=x>") == "&lt;img src=x>"
    assert md_text("line\nbreak") == "line break"


def test_junit_one_case_per_assertion_and_probe(make_run_dir: Callable[..., Path]) -> None:
    run = make_run_dir(verdict="failed")
    render_directory(run)
    root = ET.parse(run / "junit.xml").getroot()
    cases = root.findall(".//testcase")
    view = load_view(run)
    r = view.report
    assert len(cases) == len(r.checks()) == (len(r.assertions) + len(r.steady_state.before)
                                            + len(r.steady_state.after) + len(r.stop_conditions))
    failures = root.findall(".//failure")
    assert len(failures) == sum(1 for a in r.assertions if not a.passed) > 0
    message = failures[0].get("message", "")
    assert message.startswith("expected success_rate >= 0.95, observed ")
    assert root.get("failures") == str(len(failures))


def test_rendering_without_requests_or_audit_falls_back(make_run_dir: Callable[..., Path]) -> None:
    run = make_run_dir(audit=False)
    (run / "requests.jsonl").unlink()
    view = load_view(run)
    assert view.buckets_source == "report.json metrics" and view.buckets
    assert view.decisions is None
    html = render_html(view)
    assert "No audit log" in html and "signed" in html
    assert "govchaos report verify" not in render_markdown(view)  # unsigned: no verify command


def test_buckets_per_second() -> None:
    rows = [{"sent_at_s": t / 10, "status": 200 if t % 5 else 500, "latency_ms": float(t)}
            for t in range(30)]
    buckets = buckets_from_rows(rows)
    assert [b.t_s for b in buckets] == [0, 1, 2]
    assert all(b.sent == 10 and b.ok == 8 and b.success_rate == 0.8 for b in buckets)
    assert buckets[0].latency_p50_ms == 4.5


@pytest.mark.parametrize("values", [{}, {"a": 1}, {"x<y": 3, "z": 0}])
def test_bars_svg(values: dict[str, int]) -> None:
    svg = bars_svg(values)
    assert svg.startswith("<svg") and svg.endswith("</svg>") and "x<y" not in svg


def test_timeline_without_requests() -> None:
    assert "no requests" in timeline_svg([], [])


def test_health_probes_are_shown_apart_from_violations(
    make_run_dir: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from govchaos.cli import main

    run = make_run_dir(probes_by_upstream={"cloud-eu": 3, "private-eu-70b": 1})
    finalize_report(run)
    expected = ("4 health probes carried no client data (counted apart, not violations): "
                "cloud-eu 3, private-eu-70b 1; 4 of 4 labelled X-Govchaos-Probe")
    html = (run / "report.html").read_text()
    policy = html[html.index("Policy decisions"):html.index("Digests")]
    assert expected in policy and "<td>cloud-eu</td><td class=\"num\">3</td>" in policy
    md = (run / "report.md").read_text()
    assert md_text(expected) in md
    assert main(["report", "show", str(run)]) == 0
    assert expected in capsys.readouterr().out


def test_no_probes_no_probe_line(signed_dir: Path) -> None:
    assert 'id="probes"' not in (signed_dir / "report.html").read_text()
    assert "health probe" not in (signed_dir / "report.md").read_text()


def test_html_reads_well(signed_dir: Path) -> None:
    html = (signed_dir / "report.html").read_text()
    verdict = html[html.index('<div class="verdict'):]
    verdict = verdict[:verdict.index("</div>")]
    assert "PASSED" in verdict and "6 of 6 checks passed · 0 policy violations" in verdict
    assert "2025-01-01 12:00:00 UTC" in html  # not the raw ISO string
    checks = html[html.index("Assertions, steady-state"):html.index("What happened")]
    # steady-state probes are over their phase's seconds, not the whole run; units on ms values
    assert "<td class=\"nowrap\">0.0–1.0 s</td>" in checks and "&lt;= 500 ms" in checks
    assert "100% (" in checks and "&gt;= 95%" in checks  # a rate is a percentage with n/N
    assert "never tripped" in checks  # the stop condition says what it saw
    faults = html[html.index("Faults as applied"):html.index("<h2>Traffic by model</h2>")]
    assert "+0 s, for 1 s" in faults and "1.0 s → 2.0 s (1.0 s)" in faults


def test_request_bars_have_their_own_axis() -> None:
    from chaos.report.view import FaultSpan

    rows = [{"sent_at_s": t + i / 40, "status": 200, "latency_ms": 10.0, "error": None}
            for t in range(5) for i in range(40)]
    svg = timeline_svg(buckets_from_rows(rows),
                       [FaultSpan(name="f", kind="kill", target="u", start_s=1, end_s=3)])
    assert "right axis" in svg and ">50/s<" in svg and ">25/s<" in svg and ">12.5/s<" in svg
    # Right-axis labels sit on the left axis's gridlines (same y for 0/25/50/75/100 %).
    gridlines = re.findall(r'<line x1="64" x2="944" y1="([\d.]+)"', svg)
    right = re.findall(r'<text x="950" y="([\d.]+)" style="fill:#64748b">[\d.]+/s</text>', svg)
    assert len(right) == 5 and {float(y) - 4 for y in right} <= {float(y) for y in gridlines}
    # Fault shading is drawn after (over) the bars, so no bar hides it.
    panel2 = svg[svg.index("Success rate per second"):]
    assert panel2.index('fill="#cbd5e1" fill-opacity') < panel2.index('fill-opacity="0.18"')


def test_markdown_has_tally_units_and_readable_time(signed_dir: Path) -> None:
    md = (signed_dir / "report.md").read_text()
    assert "**6 of 6 checks passed · 0 policy violations**" in md
    assert "2025-01-01 12:00:00 UTC" in md and "&lt;= 500 ms |" in md


def test_markdown_lists_failed_checks_first(make_run_dir: Callable[..., Path]) -> None:
    run = make_run_dir(verdict="failed")
    finalize_report(run)
    md = (run / "report.md").read_text()
    rows = [line for line in md.splitlines() if line.startswith("| ✅") or line.startswith("| ❌")]
    marks = [row.split("|")[1].strip() for row in rows]
    assert marks == sorted(marks, key=lambda m: 0 if "FAIL" in m else 1) and "❌ FAIL" in marks[0]
    assert "stop condition" in md and "trips if >" in md


def test_html_evidence_block_names_signer_and_digests(signed_dir: Path) -> None:
    html = (signed_dir / "report.html").read_text()
    evidence = html[html.index('id="evidence"'):html.index("</section>")]
    r = load_view(signed_dir).report
    for needle in ("ephemeral key", "key id", r.policy.sha256, "gateway.rego", "data/catalog.yaml",
                   r.gateway.config_sha256, r.scenario.sha256, "scenario.yaml", r.run_id,
                   r.environment.govchaos_version, "seed"):
        assert str(needle) in evidence, needle
    assert html.index('id="evidence"') < html.index("Assertions, steady-state")


def test_html_matrix_marks_forbidden_cells_and_violations(make_run_dir: Callable[..., Path]) -> None:
    from chaos.report.model import write_report
    from chaos.report.view import read_report_file

    run = make_run_dir()
    render_directory(run)
    html = (run / "report.html").read_text()
    matrix = html[html.index("Model × data class"):html.index("Faults as applied")]
    assert '<td class="num forbidden" title="forbidden">0 · FORBIDDEN</td>' in matrix  # pii on cloud
    assert "VIOLATION" not in matrix
    r = read_report_file(run)
    cells = tuple(c.model_copy(update={"received": 3}) if c.policy == "forbidden" else c
                  for c in r.data_class_matrix.cells)
    write_report(run, r.model_copy(update={"data_class_matrix": r.data_class_matrix.model_copy(
        update={"cells": cells})}))
    render_directory(run)
    html = (run / "report.html").read_text()
    assert '<td class="num violation" title="forbidden">3 · FORBIDDEN — VIOLATION</td>' in html


def test_html_upstream_table_and_timeline(signed_dir: Path) -> None:
    html = (signed_dir / "report.html").read_text()
    table = html[html.index("Who serves what"):html.index("Model × data class")]
    assert "<td>gpt-4o-cloud-eu</td><td>openai</td><td>cloud</td><td>eu-west-1</td><td>eu</td>" in table
    timeline = html[html.index("<h3>Timeline</h3>"):html.index("Who serves what")]
    assert "GPU health" in timeline and "GPU 0 lost (Xid 79)" in timeline
    assert "applied provider-outage-fault" in timeline
    assert 'aria-label="traffic by model over time"' in html
    traffic = html[html.index('aria-label="traffic by model over time"'):]
    traffic = traffic[:traffic.index("</svg>")]
    assert "llama-3.1-8b-private-eu" in traffic and "<rect" in traffic


def test_html_failed_rows_are_highlighted(make_run_dir: Callable[..., Path]) -> None:
    run = make_run_dir(verdict="failed")
    render_directory(run)
    html = (run / "report.html").read_text()
    rows = re.findall(r'<tr class="failrow"><td><span class="fail">FAIL</span></td><td>([^<]+)</td>', html)
    assert rows == ["success_rate &gt;= 0.95", "success_rate &gt;= 0.99 during provider-outage-fault"]
