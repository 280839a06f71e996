"""`govchaos report ...` commands: verify, show, schema, sign.

``govchaos report verify DIR [--key PUB | --cert-identity ID --cert-oidc-issuer URL]
[--expect-key-id ID] [--require-origin] [--json]`` names every check with OK/FAIL/SKIP, then the
verdict as signed and the key id, and exits 0 (valid), 1 (a check failed — with
``--require-origin`` also when nothing pins who signed) or 2 (bad usage: not a directory, no key
to verify with, an unreadable ``--key``, a malformed ``--expect-key-id``). ``show`` prints a summary,
``schema`` prints report.json's JSON Schema, and ``sign`` renders and (re-)signs a directory the
way ``chaos run`` does at its end.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

_MARK = {"ok": "OK  ", "fail": "FAIL", "skip": "SKIP"}


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("report", help="verify, show and sign report directories")
    parser.set_defaults(func=lambda args: (parser.print_help(sys.stderr), 2)[1])
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    verify = commands.add_parser(
        "verify",
        help="check that a report directory is authentic and complete",
        description="Check the bundle signature, every file's sha256 (nothing missing or added), "
        "the audit chain up to the signed head, report.json against its schema, and that the "
        "signed summary matches report.json. Without --key, a report signed with an ephemeral "
        "key verifies against its own signing-key.pub: that proves integrity, not origin "
        "(anyone can edit a report and re-sign it with a fresh key). A CI gate must pin the "
        "signer: --key, --expect-key-id or --cert-identity, with --require-origin. "
        "Exit 0 valid, 1 a check failed, 2 bad usage.",
    )
    verify.add_argument("directory", metavar="DIR")
    how = verify.add_mutually_exclusive_group()
    how.add_argument("--key", metavar="PUB", help="the signer's public key (PEM)")
    how.add_argument("--cert-identity", metavar="ID", help="keyless: expected certificate identity")
    verify.add_argument("--cert-oidc-issuer", metavar="URL", help="keyless: expected OIDC issuer")
    verify.add_argument("--offline", action="store_true",
                        help="keyless: use the cached Sigstore trust root, no network")
    verify.add_argument("--expect-key-id", metavar="ID",
                        help="the signer's key id (64 hex digits): fail unless that key signed")
    verify.add_argument("--require-origin", action="store_true",
                        help="fail (exit 1) unless the signer is pinned by --key, --expect-key-id "
                        "or --cert-identity/--cert-oidc-issuer; use it in CI gates")
    verify.add_argument("--json", action="store_true", help="print machine-readable JSON")
    verify.set_defaults(func=_verify)

    show = commands.add_parser("show", help="print a report's summary")
    show.add_argument("directory", metavar="DIR")
    show.add_argument("--json", action="store_true", help="print report.json as parsed")
    show.set_defaults(func=_show)

    schema = commands.add_parser("schema", help="print report.json's JSON Schema")
    schema.set_defaults(func=_schema)

    sign = commands.add_parser(
        "sign",
        help="render report.html/report.md/junit.xml and sign a report directory",
        description="What `chaos run` does after writing report.json. Without --key a fresh "
        "ephemeral key signs and its public half is written as signing-key.pub. --keyless reads "
        "the OIDC identity token from SIGSTORE_ID_TOKEN.",
    )
    sign.add_argument("directory", metavar="DIR")
    mode = sign.add_mutually_exclusive_group()
    mode.add_argument("--key", metavar="KEY", help="organisation signing key (PEM)")
    mode.add_argument("--keyless", action="store_true", help="sign with Sigstore keyless")
    sign.add_argument("--json", action="store_true", help="print machine-readable JSON")
    sign.set_defaults(func=_sign)


def _identity(args: argparse.Namespace) -> tuple[str, str] | None:
    from chaos.report import ReportUsageError

    if args.cert_identity is None and args.cert_oidc_issuer is None:
        return None
    if not args.cert_identity or not args.cert_oidc_issuer:
        raise ReportUsageError("keyless verification needs both --cert-identity and --cert-oidc-issuer")
    return (args.cert_identity, args.cert_oidc_issuer)


def _verify(args: argparse.Namespace) -> int:
    from chaos.report import verify_report

    result = verify_report(args.directory, key=args.key, identity=_identity(args), offline=args.offline,
                           expect_key_id=args.expect_key_id, require_origin=args.require_origin)
    if args.json:
        data: dict[str, Any] = result.model_dump(mode="json")
        first = result.first_failure
        data["first_failure"] = first.model_dump(mode="json") if first else None
        print(json.dumps(data, indent=2))
        return 0 if result.valid else 1
    out = sys.stdout
    print(f"verifying {result.directory}", file=out)
    width = max(len(c.name) for c in result.checks)
    for check in result.checks:
        where = ""
        if check.status == "fail":
            bits = [b for b in (check.file, f"line {check.line}" if check.line else None,
                                f"seq {check.seq}" if check.seq is not None else None,
                                f"field {check.field}" if check.field else None) if b]
            where = f"  [{', '.join(bits)}]" if bits else ""
        print(f"  {_MARK[check.status]}  {check.name:<{width}}  {check.detail}{where}", file=out)
    _print_signed_facts(result, out)
    if result.valid:
        print(result.valid_summary, file=out)
        if result.verdict is not None and result.verdict != "passed":
            print(f"note: the report is authentic, and the run it records {result.verdict.upper()}"
                  + (" (partial report)" if result.partial else ""), file=out)
        if result.integrity_only:
            print(f"note: verified with the report's own signing-key.pub (key id {result.key_id}). "
                  "This proves integrity since signing, NOT origin: anyone could have made and "
                  "signed this directory. Compare the key id with one you obtained independently "
                  "(--expect-key-id ID), or have runs signed with an organisation key (--key). "
                  "A CI gate must add --require-origin.", file=out)
        return 0
    failed = [c for c in result.checks if c.status == "fail"]
    first = failed[0]
    print(f"INVALID: {len(failed)} check(s) failed; first: {first.name}: {first.detail}", file=out)
    return 1


def _print_signed_facts(result: Any, out: Any) -> None:
    """The signed verdict and the key: what a reader must not confuse with 'VALID'."""
    if result.verdict is not None:
        print(f"signed verdict: {result.verdict.upper()}"
              + (" (partial)" if result.partial else "")
              + f"  (run {result.run_id}, scenario {result.scenario}; from the signed statement)",
              file=out)
    else:
        print("signed verdict: unknown (the signature did not verify, so nothing signed is shown)",
              file=out)
    if result.key_id is not None:
        how = {"given key": "the given --key", "report's signing-key.pub":
               "the report's own signing-key.pub"}.get(result.key_source or "", result.key_source)
        pinned = "pinned" if result.origin_pinned else "NOT pinned"
        print(f"key id: {result.key_id}  (from {how}; origin {pinned})", file=out)
    elif result.key_source == "keyless identity":
        print("key: keyless identity (Sigstore certificate)", file=out)
    if result.key_hint and result.key_hint != result.key_id:
        print(f"untrusted hint: the bundle claims key {result.key_hint} (unauthenticated, "
              "anyone can write it; never pin a key because of it)", file=out)


def _show(args: argparse.Namespace) -> int:
    from pathlib import Path

    from chaos.report import load_view
    from chaos.report.view import probes_summary
    from governance.attest import BUNDLE_FILENAME

    view = load_view(Path(args.directory))
    r = view.report
    if args.json:
        print(json.dumps(r.model_dump(mode="json"), indent=2))
        return 0
    print(f"{r.scenario.name}: {r.verdict.upper()}" + ("  (partial)" if r.partial else ""))
    print(f"run {r.run_id}  {r.started_at} → {r.ended_at}  ({r.duration_s:.1f} s, seed {r.seed})")
    for reason in r.verdict_reasons:
        print(f"  - {reason}")
    rows = ([("steady before", c) for c in r.steady_state.before] + [("assertion", c) for c in r.assertions]
            + [("steady after", c) for c in r.steady_state.after])
    if rows:
        width = max(len(c.name) for _, c in rows)
        print()
        for kind, c in rows:
            observed = "n/a" if c.observed is None else f"{c.observed:.4g}"
            print(f"  {'PASS' if c.passed else 'FAIL'}  {c.name:<{width}}  observed {observed:>8}"
                  f"  expected {c.op} {c.expected:g}  ({kind})")
    if r.faults:
        print()
        for f in r.faults:
            effect = f.effect.summary if f.effect else f.status
            print(f"  fault {f.name} ({f.kind} on {f.target}): {effect}")
    if r.metrics is not None:
        m = r.metrics
        rate = "n/a" if m.success_rate is None else f"{m.success_rate:.4f}"
        print(f"\n  {m.requests} requests, success rate {rate}, p99 "
              f"{'n/a' if m.latency_p99_ms is None else f'{m.latency_p99_ms:.1f} ms'}")
        from chaos.report.costs import cost_summary

        cost = cost_summary(r)
        if cost:
            print(f"  {cost}")
    if r.policy_violations is not None:
        print(f"  policy violations: {r.policy_violations.count} of {r.policy_violations.checked} checked")
        probes = probes_summary(r.policy_violations)
        if probes:
            print(f"  {probes}")
    if view.decisions is not None:
        d = view.decisions
        print(f"  decisions: {d.decisions} ({d.allowed} allowed, {d.denied} denied); attempts {d.attempts}")
    print(f"\n  scenario sha256 {r.scenario.sha256}\n  policy sha256   {r.policy.sha256}\n"
          f"  config sha256   {r.gateway.config_sha256 or 'n/a'}\n  audit head      "
          f"{r.audit.head or 'n/a'} ({r.audit.records if r.audit.records is not None else 'n/a'} records)")
    signed = (Path(args.directory) / BUNDLE_FILENAME).is_file()
    print(f"\n  signature: {'present (not checked here)' if signed else 'none'}; "
          f"check it with: govchaos report verify {args.directory}")
    return 0


def _schema(args: argparse.Namespace) -> int:
    from chaos.report.model import report_json_schema

    print(json.dumps(report_json_schema(), indent=2))
    return 0


def _sign(args: argparse.Namespace) -> int:
    import os

    from chaos.report import finalize_report

    result = finalize_report(args.directory, key=args.key, keyless=args.keyless,
                             identity_token=os.environ.get("SIGSTORE_ID_TOKEN") or None)
    if args.json:
        print(json.dumps(result.model_dump(mode="json"), indent=2))
        return 0
    print_signed(result)
    return 0


def print_signed(result: Any, stream: Any = None) -> None:
    """What `report sign` and `chaos run` print after signing: mode, key id, the verify command
    (and, for an ephemeral key, the pinned form a CI gate must use)."""
    out = stream or sys.stdout
    s = result.signing
    if s.mode == "ephemeral":
        how = f"an ephemeral key (id {s.key_id}; public half in {s.public_key_file}: integrity, not origin)"
    elif s.mode == "key":
        how = f"the organisation key {s.key_id}"
    else:
        how = f"Sigstore keyless as {s.identity} ({s.issuer})"
    print(f"rendered {', '.join(result.rendered)}; signed with {how}", file=out)
    if s.mode == "ephemeral" and s.key_id:
        print(f"pin the signer (CI gates): {result.verify_command} --expect-key-id {s.key_id} "
              "--require-origin", file=out)
    print(f"verify with: {result.verify_command}", file=out)
