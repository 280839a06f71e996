r"""``report.md``: a summary fit for a pull-request comment.

Verdict, who signed, the check table (failed checks first, then passed, then not run), policy
violations, faults, traffic, cost (total, per 1k requests, by model, per fault before/during),
digests, and the verify command — relative to the report directory, since
the summary is read next to the report (a PR comment, ``$GITHUB_STEP_SUMMARY``), not on the
machine that made it. Text from the scenario is escaped for Markdown tables (pipes, markup,
HTML).

>>> md_text("a|b <x> *y*")
'a\\|b &lt;x> \\*y\\*'
"""

from __future__ import annotations

import re
from typing import Any

from chaos.report.costs import cost_markdown
from chaos.report.view import (
    ReportView,
    display_time,
    failovers_summary,
    probes_summary,
    signer_text,
    tally,
    unit_of,
)
from chaos.report.workflows import workflows_markdown

_SPECIAL = re.compile(r"([\\`*_\[\]|#~])")
_ICON = {"passed": "✅", "failed": "❌", "broken": "⚠️"}


def md_text(value: Any) -> str:
    """Escape ``value`` for a Markdown table cell or paragraph."""
    text = "" if value is None else str(value)
    # "<" and "&" are enough to stop HTML; ">" stays readable (">=" is common in check names).
    text = text.replace("&", "&amp;").replace("<", "&lt;")
    text = _SPECIAL.sub(r"\\\1", text)
    return " ".join(text.splitlines())


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def render_markdown(view: ReportView) -> str:
    r = view.report
    lines = [
        f"## {_ICON.get(r.verdict, '')} govchaos: {md_text(r.scenario.name)} — **{r.verdict.upper()}**",
        "",
        f"**{md_text(tally(r))}**",
        "",
        f"Run `{md_text(r.run_id)}` · {md_text(display_time(r.started_at))} · {r.duration_s:.1f} s · seed {r.seed}"
        + (" · **partial report**" if r.partial else ""),
        "",
    ]
    for reason in r.verdict_reasons:
        lines.append(f"- {md_text(reason)}")
    if r.verdict_reasons:
        lines.append("")
    if view.signing is not None:
        lines += [f"**Signed:** {md_text(signer_text(view.signing))}", ""]
    if view.signing is not None and view.signing.ephemeral:
        lines += [
            f"> **Ephemeral key.** Signed with a per-run key (id `{view.signing.key_id}`) whose "
            "public half is in the report: verification proves integrity, not origin.",
            "",
        ]
    lines += ["| | check | kind | expected | observed | requests |", "|---|---|---|---|---|---|"]
    checks = ([("steady before", c) for c in r.steady_state.before]
              + [("assertion", c) for c in r.assertions]
              + [("steady after", c) for c in r.steady_state.after]
              + [("stop condition", c) for c in r.stop_conditions])
    checks.sort(key=lambda kc: 2 if kc[1].skipped else (1 if kc[1].passed else 0))  # failed first
    for kind, c in checks:
        mark = "⏭️ NOT RUN" if c.skipped else ("✅ PASS" if c.passed else "❌ FAIL")
        unit = unit_of(c.metric)
        observed = "n/a" if c.observed is None else _num(c.observed) + unit
        op = f"trips if {c.op}" if kind == "stop condition" else c.op
        lines.append(f"| {mark} | {md_text(c.name)} | {kind} | {md_text(op)} {c.expected:g}{unit} | "
                     f"{observed} | {c.requests} |")
    if not checks:
        lines.append("| | (no checks) | | | | |")
    lines.append("")
    v = r.policy_violations
    if v is not None:
        lines.append(f"**Policy violations:** {v.count} of {v.checked} upstream requests checked.")
        probes = probes_summary(v)
        if probes:
            lines.append("")
            lines.append(f"_{md_text(probes)}._")
        for x in v.examples[:10]:
            lines.append(f"- `{md_text(x.request_id)}` reached **{md_text(x.model)}** via "
                         f"{md_text(x.upstream)}: {md_text(x.reason)}"
                         + (f" (route {md_text(x.route)}, classes {md_text(', '.join(x.data_classes))})"
                            if x.route else ""))
        lines.append("")
    if r.faults:
        lines += ["| fault | kind | target | status | effect |", "|---|---|---|---|---|"]
        for f in r.faults:
            lines.append(f"| {md_text(f.name)} | {md_text(f.kind)} | {md_text(f.target)} | "
                         f"{md_text(f.status)} | {md_text(f.effect.summary if f.effect else '')} |")
        lines.append("")
    if r.metrics is not None:
        m = r.metrics
        lines.append(f"**Traffic:** {m.requests} requests, success rate {_num(m.success_rate)}, "
                     f"p50 {_num(m.latency_p50_ms)} ms, p99 {_num(m.latency_p99_ms)} ms.")
        lines.append("")
        lines.append(f"**Failovers:** {md_text(failovers_summary(m) or '')}.")
        lines.append("")
    lines += cost_markdown(r, md_text)
    lines += workflows_markdown(r)
    lines += [
        "<details><summary>Digests</summary>",
        "",
        f"- scenario sha256: `{r.scenario.sha256}`",
        f"- policy bundle `{md_text(r.policy.bundle)}` sha256: `{r.policy.sha256}`",
        f"- gateway config sha256: `{r.gateway.config_sha256 or 'n/a'}`",
        f"- seed `{r.seed}`, run id `{md_text(r.run_id)}`, govchaos {md_text(r.environment.govchaos_version)}",
        f"- audit chain head: `{r.audit.head or 'n/a'}` ({r.audit.records if r.audit.records is not None else 'n/a'} records)",
        *(f"  - worker chain `{md_text(c.name)}`: {c.records if c.records is not None else 'n/a'} records,"
          f" {'verified' if c.verified else 'FAILED: ' + md_text(c.error or '')}"
          for c in r.audit.chains or ()),
        "",
        "</details>",
        "",
    ]
    if view.verify_command:
        lines += ["Verify, inside the report directory:", "", "```sh", view.verify_command, "```", ""]
        if view.signing is not None and view.signing.ephemeral and view.signing.key_id:
            lines += ["A CI gate pins the signer (take the key id from the run's own log, not "
                      "from this file):", "", "```sh",
                      f"{view.verify_command} --expect-key-id {view.signing.key_id} --require-origin",
                      "```", ""]
    return "\n".join(lines)
