"""The workflow section rendered: HTML (charts, tables, violation paths) and Markdown."""

from __future__ import annotations

from types import SimpleNamespace

from chaos.load.workflow_models import StepRun, WorkflowRun
from chaos.report.view import FaultSpan
from chaos.report.workflows import workflow_summary, workflows_html, workflows_markdown
from chaos.runner.data_flow import DataFlowSummary
from chaos.runner.metrics import FaultWindow, Window
from chaos.runner.workflow_report import workflow_section
from chaos.report.workflow_model import DataFlowViolation

RUNS = [WorkflowRun(workflow_id=f"r-w{i}", workflow="claims", index=i, scheduled_s=i, started_s=i,
                    ended_s=i + 0.3, outcome="succeeded" if i != 2 else "fallback",
                    steps=(StepRun(step="draft", outcome="ok" if i != 2 else "fallback",
                                   attempts=1 if i != 2 else 3, errors=("http_503",) * (i == 2),
                                   started_s=i, ended_s=i + 0.3),))
        for i in range(4)]
LEAK = DataFlowViolation(upstream="cloud-eu", model="gpt-4o-cloud-eu", request_id="r-w1.2.1",
                         sent_at_s=1.1, workflow="claims", step="draft", declared=("internal",),
                         carried=("pii",), path=("claims/assess", "claims/draft", "gpt-4o-cloud-eu"))
SECTION = workflow_section(RUNS, [("claims", ["draft"])],
                           {"gpu0-lost": FaultWindow("gpu0-lost", "x", Window(1.0, 2.5))},
                           DataFlowSummary(checked=4, count=1, violations=(LEAK,),
                                           by_step={"claims/draft": 1}))
REPORT = SimpleNamespace(workflows=SECTION, duration_s=5.0)  # the two fields the section reads
NONE = SimpleNamespace(workflows=None, duration_s=5.0)
SPANS = (FaultSpan(name="gpu0-lost", kind="gpu_lost", target="x", start_s=1.0, end_s=2.5),)


def test_html_has_the_charts_tables_and_the_violation_path() -> None:
    html = workflows_html(REPORT, SPANS)
    assert "Completion rate over time" in html and 'aria-label="sample of workflows' in html
    assert "during gpu0-lost" in html and "Steps of claims" in html
    assert "claims/assess -&gt; claims/draft -&gt; gpt-4o-cloud-eu" in html
    assert "3 tries" in html and "http_503" in html  # the retried, fallen-back step's bar
    assert workflows_html(NONE, SPANS) == ""


def test_markdown_and_console_line() -> None:
    text = "\n".join(workflows_markdown(REPORT))
    assert "| whole run | 4 | 75.00% (3/4) | 1 |" in text
    assert "`claims/assess -> claims/draft -> gpt-4o-cloud-eu`: carried pii" in text
    line = workflow_summary(REPORT)
    assert line is not None and "data-flow violations: 1 (of 4" in line
    assert workflows_markdown(NONE) == [] and workflow_summary(NONE) is None
