"""``report.html``: one self-contained page (inline CSS and SVG, no scripts, no fetches).

Order of the page: verdict first, then the evidence an auditor checks (who signed, the policy
bundle digest and its files, the gateway config, scenario digest, seed, run id, version,
provenance), the scenario's description and what it proves, the checks (failed rows
highlighted, rates as percentages with n/N), one timeline (phases, fault windows, GPU health
events, a tripped stop condition) drawn on the latency and success charts and on the traffic by
model over time, upstream → model → hosting → region/jurisdiction, the model × data-class matrix
of what the upstreams received with the cells the policy forbids marked, faults as applied,
traffic by data class, failovers, what it cost (cost per 1k requests over time with the fault
windows shaded, by model, before vs during each fault), policy decisions, digests, environment, and how to verify. Every value goes through :func:`html.escape` (names come from user-written YAML).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chaos.report.chart import bars_svg, timeline_svg, traffic_svg
from chaos.report.costs import cost_html
from chaos.report.html_evidence import ephemeral_note, evidence_html, verify_html
from chaos.report.html_governance import decisions_html, matrix_html, probes_html, upstreams_html
from chaos.report.html_markup import CSS, RATES, Raw, esc, kv, metric_value, num, pass_mark, table
from chaos.report.records import CheckResult
from chaos.report.view import ReportView, display_time, failovers_summary, tally
from chaos.report.workflows import workflows_html

def _window(view: ReportView, r: CheckResult, kind: str) -> str:
    """Where the check looked, in run seconds (never a repeat of its name)."""
    report = view.report
    if r.skipped:
        return "—"
    if r.during:
        for f in report.faults:
            if f.name == r.during and f.applied_at_s is not None:
                end = f.reverted_at_s if f.reverted_at_s is not None else report.duration_s
                return f"{f.applied_at_s:.1f}–{end:.1f} s"
    if r.phase:
        for ph in report.phases:
            if ph.name == r.phase:
                return f"{ph.start_s:.1f}–{(ph.end_s if ph.end_s is not None else report.duration_s):.1f} s"
    if kind == "stop condition":
        return "every window"
    return "whole run"


def _check_rows(view: ReportView, kind: str, results: Sequence[CheckResult]) -> list[tuple[str, list[Any]]]:
    rows = []
    for r in results:
        if r.skipped:
            mark, cls = Raw('<span class="muted">NOT RUN</span>'), "skiprow"
        else:
            mark, cls = pass_mark(r.passed), ("" if r.passed else "failrow")
        op = f"trips if {r.op}" if kind == "stop condition" else r.op
        expected = f"{op} {metric_value(r.metric, r.expected)}"
        # A stop condition's "requests" count the windows it was checked over, not requests.
        observed = metric_value(r.metric, r.observed,
                          r.requests if r.metric in RATES and kind != "stop condition" else None)
        rows.append((cls, [mark, r.name, kind, expected, observed, r.requests,
                           _window(view, r, kind), r.detail]))
    return rows


def render_html(view: ReportView) -> str:
    """The whole page as a string."""
    r = view.report
    m = r.metrics
    out: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        # No network, no scripts: a CSP the browser enforces even if something slipped in.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; img-src data:\">",
        f"<title>govchaos report: {esc(r.scenario.name)} — {esc(r.verdict)}</title>",
        f"<style>{CSS}</style></head><body><main>",
        f"<h1>Chaos report: {esc(r.scenario.name)}</h1>",
        f'<div class="muted">run <code>{esc(r.run_id)}</code> · {esc(display_time(r.started_at))} → '
        f"{esc(display_time(r.ended_at))} ({r.duration_s:.1f} s) · seed {r.seed}</div>",
        f'<div class="verdict {esc(r.verdict)}"><b>{esc(r.verdict.upper())}</b>',
    ]
    out.append(f'<span class="tally">{esc(tally(view.report))}</span>')
    if r.partial:
        out.append('<div>partial report (the run did not complete)</div>')
    if r.verdict_reasons:
        out.append("<ul>" + "".join(f"<li>{esc(x)}</li>" for x in r.verdict_reasons) + "</ul>")
    out.append("</div>")
    out.append(evidence_html(view))
    if r.scenario.description or r.scenario.proves:
        out.append("<h2>The scenario</h2>")
        if r.scenario.description:
            out.append(f"<p>{esc(r.scenario.description)}</p>")
        if r.scenario.proves:
            out.append(f"<p><b>What this scenario proves:</b> {esc(r.scenario.proves)}</p>")
    if view.signing is not None and view.signing.ephemeral:
        out.append(ephemeral_note(view))
    violations = r.policy_violations
    if violations is not None:
        cls = "pass" if violations.count == 0 else "fail"
        out.append(f'<p>Policy violations (ground truth from the upstreams\' logs): '
                   f'<span class="{cls}">{violations.count}</span> of {violations.checked} '
                   "upstream requests checked.</p>")

    out.append("<h2>Assertions, steady-state probes and stop conditions</h2>")
    tagged = (_check_rows(view, "steady before", r.steady_state.before)
              + _check_rows(view, "assertion", r.assertions)
              + _check_rows(view, "steady after", r.steady_state.after)
              + _check_rows(view, "stop condition", r.stop_conditions))
    classes = [c for c, _ in tagged]
    rows = [row for _, row in tagged]
    headers = ["", "check", "kind", "expected", "observed", "requests (stop: windows)", "window"]
    if any(row[-1] for row in rows):
        headers.append("detail")
    else:  # an empty column on every row is noise
        rows = [row[:-1] for row in rows]
    out.append(table(headers, rows, numeric=(4, 5), nowrap=(2, 3, 4, 6), row_classes=classes))
    out.append('<div class="muted">Rates are shown as a percentage with the requests they count '
               "(n/N); window: the seconds of the run each check was computed over.</div>")
    if r.stopped_early:
        st = r.stopped_early
        out.append(f'<p class="fail">Stopped early at {st.at_s:.1f} s: {esc(st.condition)} '
                   f"(observed {num(st.observed)})</p>")

    phases = [(ph.name, ph.start_s, ph.end_s if ph.end_s is not None else r.duration_s)
              for ph in r.phases]
    out.append("<h2>What happened: latency and success on the run's timeline</h2>")
    out.append(timeline_svg(view.buckets, view.fault_spans, phases, view.marks))
    out.append(f'<div class="muted">Per-second buckets by send time, from {esc(view.buckets_source)}; '
               "latency counts every request, failed ones included.</div>")
    if m is not None:
        out.append(table(
            ["requests", "ok", "errors", "success rate", "p50 ms", "p95 ms", "p99 ms", "req/s"],
            [[m.requests, m.ok, m.errors, metric_value("success_rate", m.success_rate, m.requests),
              num(m.latency_p50_ms), num(m.latency_p95_ms), num(m.latency_p99_ms),
              num(m.throughput_rps)]],
            numeric=range(8)))
    out.append("<h3>Traffic by model over time</h3>")
    if view.traffic is not None:
        out.append(traffic_svg(view.traffic.seconds, view.traffic.models, view.fault_spans, phases,
                               view.marks))
        out.append(f'<div class="muted">From {esc(view.traffic.source)}: what each model received '
                   "per second (health probes left out).</div>")
    else:
        out.append('<p class="muted">No per-request traffic in this report.</p>')
    out.append("<h3>Timeline</h3>")
    out.append(_timeline_table(view))
    out.append(workflows_html(r, view.fault_spans))

    out.append("<h2>Who serves what: upstream → model → hosting → region / jurisdiction</h2>")
    out.append(upstreams_html(view))
    out.append("<h2>Model × data class: requests the upstreams actually received</h2>")
    out.append(matrix_html(view))

    out.append("<h2>Faults as applied</h2>")
    out.append(table(
        ["name", "kind", "target", "parameters", "planned (fault phase)", "in force (run time)",
         "status", "observed effect"],
        [[f.name, f.kind, f.target, ", ".join(f"{k}={v}" for k, v in f.params.items()) or "—",
          f"+{f.planned_at_s:g} s, for {f.planned_duration_s:g} s", _in_force(f.applied_at_s, f.reverted_at_s),
          f.status + (f": {f.error}" if f.error else ""),
          _effect_text(f.effect)] for f in r.faults]))
    out.append('<div class="muted">Planned times count from the start of the fault phase; '
               "times in force count from the start of the run, like the chart.</div>")

    out.append("<h2>Traffic by model</h2>")
    if m is not None:
        models = sorted(set(m.served_by_model) | set(m.upstream_received_by_model))
        out.append(table(["model", "served (upstream logs)", "received (upstream logs)"],
                          [[k, m.served_by_model.get(k, 0), m.upstream_received_by_model.get(k, 0)]
                           for k in models], numeric=(1, 2)))
        out.append("<h2>Traffic by data class</h2>")
        out.append(table(["data class", "requests", "ok", "errors"],
                          [[k, v.get("requests", 0), v.get("ok", 0), v.get("errors", 0)]
                           for k, v in sorted(m.by_data_class.items())], numeric=(1, 2, 3)))
        out.append("<h2>Failovers by reason</h2>")
        out.append(f'<div class="muted">{esc(failovers_summary(m) or "")}.</div>')
        out.append(bars_svg(m.failovers_by_reason, colour="#f97316"))
        out.append(cost_html(r, view.fault_spans, phases, view.marks))

    out.append("<h2>Policy decisions</h2>")
    out.append(decisions_html(view))
    out.append(probes_html(view))

    out.append("<h2>Digests</h2>")
    out.append(kv({
        "scenario sha256": r.scenario.sha256 + (f" ({r.scenario.file} in this directory)"
                                                if r.scenario.file else ""),
        "policy bundle": r.policy.bundle,
        "policy bundle sha256": r.policy.sha256,
        "policy files": ", ".join(r.policy.files) or "n/a",
        "gateway": f"{r.gateway.kind} {r.gateway.version or ''}".strip(),
        "gateway config sha256": r.gateway.config_sha256 or "n/a",
        "audit log": r.audit.file or "none",
        "audit chain head": r.audit.head or "n/a",
        "audit records": r.audit.records if r.audit.records is not None else "n/a",
        "audit verified at run end": "yes" if r.audit.verified else f"no ({r.audit.error or 'n/a'})",
        **({"audit worker chains": "; ".join(
            f"{c.name}: {c.records if c.records is not None else 'n/a'} records,"
            f" {'verified' if c.verified else 'FAILED ' + (c.error or '')}" for c in r.audit.chains)}
           if r.audit.chains else {}),
    }))

    env = r.environment
    out.append("<h2>Environment</h2>")
    out.append(kv({
        "govchaos": env.govchaos_version, "python": env.python_version,
        "platform": env.platform, "host": env.host, "cpus": env.cpu_count or "n/a",
        "GPUs": "; ".join(f"{g.index}: {g.model} (driver {g.driver or 'n/a'})" for g in env.gpus)
        or "none", "fault proxy": env.toxiproxy,
    }))

    out.append("<h2>How to verify</h2>")
    out.append(verify_html(view))
    out.append("</main></body></html>\n")
    return "".join(out)


def _effect_text(effect: Any) -> str:
    """The fault's observed effect; with the verified/expected/observed fields when present."""
    if effect is None:
        return ""
    parts = [effect.summary]
    verified = getattr(effect, "verified", None)
    expected = getattr(effect, "expected", None)
    observed = getattr(effect, "observed", None)
    if verified is not None and (expected or observed):
        parts.append(f"{'verified' if verified else 'NOT verified'}: expected {expected or 'n/a'}; "
                     f"observed {observed or 'n/a'}")
    return " — ".join(p for p in parts if p)


def _timeline_table(view: ReportView) -> str:
    rows = [[f"{mk.t_s:.2f} s", {"gpu": "GPU health", "stop": "stop condition", "fault": "fault",
                                 "harness": "harness", "phase": "phase"}.get(mk.kind, mk.kind),
             mk.label, mk.detail] for mk in view.marks]
    return table(["time", "kind", "event", "detail"], rows, nowrap=(0, 1))


def _in_force(applied: float | None, reverted: float | None) -> str:
    if applied is None:
        return "never applied"
    if reverted is None:
        return f"{applied:.1f} s → end of run (not reverted)"
    return f"{applied:.1f} s → {reverted:.1f} s ({reverted - applied:.1f} s)"


