"""``report.html``'s parts about trust: the evidence block an auditor reads first (who signed,
the digests the claim rests on, provenance, CI run), the ephemeral-key note and how to verify.
"""

from __future__ import annotations

from chaos.report.html_markup import esc
from chaos.report.view import ReportView, signer_kind


def evidence_html(view: ReportView) -> str:
    """What an auditor checks first: who signed, and the digests the claim rests on."""
    r = view.report
    rows: list[tuple[str, str]] = []
    s = view.signing
    if s is None:
        signer = '<span class="fail">not signed</span>'
    elif s.mode == "keyless":
        signer = (f'<span class="tag keyless">keyless identity</span> <code>{esc(s.identity)}</code> '
                  f"(issuer <code>{esc(s.issuer)}</code>)")
    else:
        kind = signer_kind(s)
        cls = "ephemeral" if s.ephemeral else "key"
        signer = (f'<span class="tag {cls}">{esc(kind)}</span> key id <code>{esc(s.key_id)}</code>'
                  + (" — integrity, not origin: pin this id (<code>--expect-key-id</code>) from "
                     "the run's own log" if s.ephemeral else ""))
    rows.append(("signed by", signer))
    files = "".join(f"<li><code>{esc(f)}</code></li>" for f in r.policy.files)
    rows.append(("policy bundle sha256", f"<code>{esc(r.policy.sha256 or 'n/a')}</code>"
                 + (f'<details><summary>{len(r.policy.files)} files</summary><ul>{files}</ul></details>'
                    if r.policy.files else " (no file list)")))
    rows.append(("gateway config sha256", f"<code>{esc(r.gateway.config_sha256 or 'n/a')}</code>"
                 + (" (<code>gateway-config.yaml</code> in this directory)" if r.gateway.config_sha256 else "")))
    rows.append(("scenario sha256", f"<code>{esc(r.scenario.sha256)}</code>"
                 + (f" (<code>{esc(r.scenario.file)}</code> in this directory)" if r.scenario.file else "")))
    rows.append(("seed", f"<code>{r.seed}</code>"))
    rows.append(("run id", f"<code>{esc(r.run_id)}</code>"))
    rows.append(("govchaos version", esc(r.environment.govchaos_version)))
    pv = r.provenance
    for label, info in (("policy bundle in git", pv.policy_bundle), ("scenario in git", pv.scenario)):
        if info is not None:
            dirty = ("" if info.dirty is None else
                     ' <span class="fail">(uncommitted changes)</span>' if info.dirty else " (clean)")
            rows.append((label, f"<code>{esc(info.path)}</code> at <code>{esc(info.commit or 'no commit')}</code>{dirty}"))
    if pv.ci is not None:
        ci = pv.ci
        bits = [f"{esc(ci.provider)}"] + [f"{k} <code>{esc(v)}</code>" for k, v in (
            ("run", ci.run_url), ("job", ci.job_url), ("repository", ci.repository),
            ("commit", ci.commit), ("ref", ci.ref)) if v]
        rows.append(("CI run", ", ".join(bits)))
    else:
        rows.append(("CI run", '<span class="muted">not made in CI (no CI environment)</span>'))
    body = "".join(f"<tr><th>{esc(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return (f'<section class="evidence" id="evidence"><h2>Evidence</h2>'
            f'<table class="kv"><tbody>{body}</tbody></table></section>')


def ephemeral_note(view: ReportView) -> str:
    key = view.signing.key_id if view.signing else None
    return ('<div class="note"><b>Signed with an ephemeral key.</b> A fresh key signed this run and '
            f"its public half is in <code>{esc(view.signing.public_key_file if view.signing else '')}</code>."
            " Verification proves the files are unchanged since signing (integrity), not who "
            f"signed them (origin). Key id: <code>{esc(key)}</code></div>")


def verify_html(view: ReportView) -> str:
    if view.signing is None or view.verify_command is None:
        return ('<p>This report was rendered without being signed. Sign it with '
                "<code>govchaos chaos run … --key KEY</code>.</p>")
    s = view.signing
    lines = [f"<pre>{esc(view.verify_command)}</pre>"]
    if s.mode == "key":
        lines.append(f"<p>Signed with an organisation key, key id <code>{esc(s.key_id)}</code>. "
                     "Obtain the public key (<code>govchaos-signing.pub</code>) from the signer "
                     "through a channel you trust and check its key id.</p>")
    elif s.mode == "keyless":
        lines.append(f"<p>Signed keylessly with Sigstore as <code>{esc(s.identity)}</code> "
                     f"(issuer <code>{esc(s.issuer)}</code>).</p>")
    else:
        lines.append("<p>Verifies against the report's own <code>signing-key.pub</code>: that "
                     "proves integrity, not origin. Compare the key id above with the one "
                     "printed when the run was made (e.g. in the CI log or PR comment).</p>")
    lines.append("<p>The command checks the signature, every file's sha256 (none missing, none "
                 "added), the audit chain up to the signed head, report.json against its schema, "
                 "and that the signed summary matches report.json. See "
                 "<code>docs/verifying-reports.md</code>.</p>")
    return "".join(lines)
