"""``report.html``'s governance sections: who serves what (upstream -> model -> hosting ->
region), the model x data-class matrix of what the upstreams received, the gateway's policy
decisions from its audit log, and the health probes counted apart.
"""

from __future__ import annotations

from chaos.report.html_markup import esc, kv, num, table
from chaos.report.view import ReportView, probes_summary


def upstreams_html(view: ReportView) -> str:
    ups = view.report.upstreams
    if not ups:
        return '<p class="muted">This report does not record its upstreams.</p>'
    rows = [[u.name, u.model, u.provider or "n/a", u.hosting or "n/a", u.region or "n/a",
             u.jurisdiction or "n/a", "none" if u.gpu_device is None else f"GPU {u.gpu_device}",
             "policy catalog" if u.source == "catalog" else "scenario (not in the catalog)"]
            for u in ups]
    return table(["upstream", "model", "provider", "hosting", "region", "jurisdiction", "GPU",
                   "attributes from"], rows)


def matrix_html(view: ReportView) -> str:
    mx = view.report.data_class_matrix
    if mx is None:
        return '<p class="muted">This report has no model × data-class matrix.</p>'
    cells = {(c.model, c.data_class): c for c in mx.cells}
    hosting = {u.model: u.hosting for u in view.report.upstreams}
    head = "".join(f"<th>{esc(c)}</th>" for c in mx.data_classes)
    body = []
    for model in mx.models:
        tds = []
        for data_class in mx.data_classes:
            cell = cells.get((model, data_class))
            if cell is None:
                tds.append('<td class="muted">—</td>')
                continue
            if cell.policy == "forbidden":
                cls = "violation" if cell.received else "forbidden"
                label = f"{cell.received} · FORBIDDEN" + (" — VIOLATION" if cell.received else "")
            else:
                cls = cell.policy
                label = f"{cell.received}" + (" · allowed for some requests" if cell.policy == "mixed" else "")
            tds.append(f'<td class="num {cls}" title="{esc(cell.policy)}">{esc(label)}</td>')
        extra = mx.unattributed.get(model)
        tds.append(f'<td class="num">{extra or 0}</td>')
        body.append(f"<tr><th>{esc(model)} <span class=\"muted\">({esc(hosting.get(model) or '?')})</span></th>"
                    f"{''.join(tds)}</tr>")
    return (f"<table><thead><tr><th>model (hosting)</th>{head}<th>unattributed</th></tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>"
            '<div class="muted">Each cell: requests carrying that data class that the model '
            "actually received, from the upstreams' own request logs. Hatched FORBIDDEN: the "
            "policy denied that model for every request of the run carrying that class (a number "
            "above 0 there is a violation, shown red); “allowed for some”: allowed for some "
            "request shapes, not others.</div>")


def decisions_html(view: ReportView) -> str:
    d = view.decisions
    if d is None:
        return '<p class="muted">No audit log in this report (external gateway?).</p>'
    parts = [kv({
        "audit records": d.records,
        "decisions": d.decisions,
        "allowed": d.allowed,
        "denied": d.denied,
        "decision latency p50 (ms)": num(d.decision_latency_p50_ms),
        "upstream attempts": d.attempts,
        "GPU health events": d.gpu_events,
        **({"shadow decisions (denied: never sent)": f"{d.shadow_decisions} ({d.shadow_denied} denied)"}
           if d.shadow_decisions else {}),
        **({"unreadable lines": d.unreadable} if d.unreadable else {}),
    })]
    parts.append('<div class="grid"><div>')
    parts.append(table(["route", "decisions", "allowed", "denied"],
                        [[k, v.decisions, v.allowed, v.denied] for k, v in d.by_route.items()],
                        numeric=(1, 2, 3)))
    parts.append(table(["deny reason", "count"], list(d.deny_reasons.items()), numeric=(1,)))
    parts.append("</div><div>")
    parts.append(table(["attempt outcome", "count"], list(d.attempts_by_outcome.items()), numeric=(1,)))
    parts.append(table(["model attempted", "attempts"], list(d.attempts_by_model.items()), numeric=(1,)))
    if d.shadows_by_outcome:
        parts.append(table(["shadow outcome", "count"], list(d.shadows_by_outcome.items()),
                           numeric=(1,)))
    parts.append("</div></div>")
    v = view.report.policy_violations
    if v is not None and v.examples:
        parts.append("<p><b>Violations (examples)</b></p>")
        parts.append(table(["upstream", "model", "request id", "reason", "route", "tenant", "data classes"],
                            [[x.upstream, x.model, x.request_id, x.reason, x.route, x.tenant,
                              ", ".join(x.data_classes)] for x in v.examples]))
    return "".join(parts)


def probes_html(view: ReportView) -> str:
    """Gateway health probes the upstreams received: counted apart, per upstream."""
    v = view.report.policy_violations
    text = probes_summary(v)
    if v is None or text is None:
        return ""
    return (f'<p id="probes"><b>Health probes.</b> {esc(text)}.</p>'
            + table(["upstream", "health probes"], sorted(v.probes_by_upstream.items()), numeric=(1,)))
