"""`govchaos chaos ...` commands: run, validate, schema, faults.

Exit codes of ``chaos run``: 0 the run passed, 1 an assertion or hypothesis failed, 2 the
scenario is invalid or the run broke (including Ctrl-C, which still writes a partial report).

Output of ``chaos run``: progress on stderr; the final summary (faults, violations, verdict, the
check table with failed checks first, how it was signed, the verify command) on stdout. With
``--json`` stdout carries exactly one JSON object (:func:`result_json`) and the summary goes to
stderr. When ``GITHUB_STEP_SUMMARY`` names a file, ``report.md`` is appended to it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from govchaos.cli import chaos_list
from govchaos.cli.errors import error_json

EXIT_BY_VERDICT = {"passed": 0, "failed": 1, "broken": 2}


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("chaos", help="run and validate chaos scenarios")
    parser.set_defaults(func=lambda args: (parser.print_help(sys.stderr), 2)[1])
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="run a scenario against its gateway and write a report directory",
        description="Run SCENARIO: start the upstreams, fault proxies and gateway, check the "
        "steady state, apply the fault timeline under open-loop load, check again, and write "
        "reports/<scenario>-<UTC time>/ (report.json, audit.jsonl, requests.jsonl). Exit 0 "
        "passed, 1 an assertion failed, 2 invalid scenario or the run broke. TOXIPROXY_URL "
        "selects a real Toxiproxy instead of the embedded fault proxy.",
    )
    run.add_argument("scenario", help="scenario YAML file, or builtin:NAME for a shipped one "
                     "(`govchaos chaos list`)")
    run.add_argument("--out", help="report directory (default reports/<scenario>-<UTC time>)")
    run.add_argument("--seed", type=int, default=None, help="override the scenario's seed")
    signing = run.add_mutually_exclusive_group()
    signing.add_argument("--key", help="organisation signing key (PEM) for the report")
    signing.add_argument("--keyless", action="store_true", help="sign with Sigstore keyless")
    run.add_argument("--json", action="store_true",
                     help="print one JSON result object on stdout (verdict, exit code, checks, "
                     "signing key id, verify command, file paths); the summary goes to stderr")
    run.set_defaults(func=_run)

    validate = commands.add_parser("validate", help="validate scenario files")
    validate.add_argument("scenarios", nargs="+", metavar="SCENARIO",
                          help="scenario YAML files, or builtin:NAME")
    validate.add_argument("--json", action="store_true",
                          help="print one JSON document: per file ok, or the error's code, file, "
                          "line, column, field and message")
    validate.set_defaults(func=_validate)

    schema = commands.add_parser("schema", help="print the scenario (or report) JSON Schema")
    schema.add_argument("--report", action="store_true", help="print report.json's schema")
    schema.set_defaults(func=_schema)

    faults = commands.add_parser("faults", help="list the fault kinds and their parameters")
    faults.add_argument("--json", action="store_true")
    faults.set_defaults(func=_faults)

    chaos_list.register(commands)


def finalize_report(run_dir: Path, args: argparse.Namespace, out: Any = None) -> Any:
    """Hook run after report.json is written: render and sign the report directory.

    ``args.key`` (organisation key) / ``args.keyless`` (Sigstore, OIDC token from
    ``SIGSTORE_ID_TOKEN``) choose the signer; neither means an ephemeral key. See
    :func:`chaos.report.finalize_report`. Prints how it was signed and the verify command to
    ``out``, appends report.md to ``$GITHUB_STEP_SUMMARY`` when set, and returns the
    :class:`~chaos.report.FinalizeResult`. Raises ``KeyFileError`` / ``SigningError`` (exit 2).
    """
    import os

    from chaos.report import finalize_report as render_and_sign
    from govchaos.cli.report import print_signed

    result = render_and_sign(
        run_dir,
        key=getattr(args, "key", None),
        keyless=bool(getattr(args, "keyless", False)),
        identity_token=os.environ.get("SIGSTORE_ID_TOKEN") or None,
    )
    print_signed(result, out or sys.stdout)
    _step_summary(run_dir, os.environ.get("GITHUB_STEP_SUMMARY"))
    return result


def _step_summary(run_dir: Path, target: str | None) -> None:
    """Append report.md to the CI job summary file (GitHub's ``$GITHUB_STEP_SUMMARY``).

    A summary that cannot be written is a warning on stderr, never a failed run: the report
    itself is already signed.
    """
    if not target:
        return
    try:
        text = (run_dir / "report.md").read_text(encoding="utf-8")
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(text if text.endswith("\n") else text + "\n")
    except OSError as exc:
        print(f"warning: could not append report.md to GITHUB_STEP_SUMMARY ({target}): "
              f"{exc.strerror or exc}", file=sys.stderr)


def _validate(args: argparse.Namespace) -> int:
    from chaos.faults import default_registry
    from chaos.scenario import load_scenario
    from govchaos.builtin import resolve
    from chaos.scenario.references import check_references
    from governance.errors import GovchaosError

    failed = 0
    results: list[dict[str, Any]] = []
    bundles: set[Path] = set()  # each policy bundle is compiled once per call
    for name in args.scenarios:
        if name.endswith(".template.yaml"):
            # Shell globs (scenarios/*.yaml) pick up the shared gateway config template.
            results.append({"file": name, "ok": True, "skipped": "gateway config template, not a scenario"})
            if not args.json:
                print(f"{name}: skipped (gateway config template, not a scenario)")
            continue
        try:
            loaded = load_scenario(resolve(name, kind="scenario"), faults=default_registry())
            # What `chaos run` would refuse later: the config template, its placeholders, the
            # policy bundle (loaded and compiled).
            check_references(loaded, checked_bundles=bundles)
        except GovchaosError as exc:  # one bad file does not hide the others
            failed += 1
            results.append({"file": name, "ok": False, "error": error_json(exc)})
            if not args.json:
                print(f"error[{exc.code}]: {exc.diagnostics()}", file=sys.stderr)
            continue
        s = loaded.scenario
        results.append({"file": name, "ok": True, "scenario": s.name, "upstreams": len(s.upstreams),
                        "faults": len(s.faults), "assertions": len(s.assertions),
                        "planned_duration_s": s.planned_duration_s()})
        if not args.json:
            print(f"{name}: ok ({s.name}: {len(s.upstreams)} upstreams, {len(s.faults)} faults, "
                  f"{len(s.assertions)} assertions, ~{s.planned_duration_s():.0f} s)")
    if args.json:
        print(json.dumps({"ok": not failed, "errors": failed, "results": results}, indent=2))
    return 2 if failed else 0


def _schema(args: argparse.Namespace) -> int:
    if args.report:
        from chaos.report.model import report_json_schema

        schema = report_json_schema()
    else:
        from chaos.scenario import scenario_json_schema

        schema = scenario_json_schema()
    print(json.dumps(schema, indent=2))
    return 0


def _faults(args: argparse.Namespace) -> int:
    from chaos.faults import default_registry

    kinds = default_registry().describe()
    if args.json:
        print(json.dumps(kinds, indent=2))
        return 0
    for kind in kinds:
        params = ", ".join(kind["params"].get("properties", {})) or "-"
        print(f"{kind['name']:<18} {kind['layer']:<9} {kind['summary']}  [params: {params}]")
    return 0


class _Progress:
    """One line per second on stderr: phase, elapsed, rps, errors, active faults."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())

    def __call__(self, update: Any) -> None:
        faults = ",".join(update.active_faults) or "-"
        line = (f"[{update.elapsed_s:6.1f}s] {update.phase:<13} {update.rps:7.1f} rps  "
                f"sent {update.sent:<6} ok {update.ok:<6} errors {update.errors:<5} "
                f"faults {faults}")
        if self.tty:
            self.stream.write("\r\x1b[2K" + line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def done(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _check_signing_args(args: argparse.Namespace) -> None:
    """Refuse signing options that cannot work, before minutes of run are spent on them.

    Raises:
        ChaosError: ``--keyless`` without ``SIGSTORE_ID_TOKEN``, or ``--key`` naming no file
            (exit 2).
    """
    import os

    from chaos.errors import ChaosError

    if getattr(args, "keyless", False) and not os.environ.get("SIGSTORE_ID_TOKEN"):
        raise ChaosError(
            "--keyless needs an OIDC identity token in SIGSTORE_ID_TOKEN (e.g. from the CI "
            "provider's OIDC step); nothing was run",
            code="usage", exit_code=2,
        )
    key = getattr(args, "key", None)
    if key and not Path(key).is_file():
        raise ChaosError(f"--key {key}: no such file; nothing was run", code="usage",
                         exit_code=2)


def _run(args: argparse.Namespace) -> int:
    import asyncio
    import os

    from chaos.faults import default_registry
    from chaos.runner.run import ChaosRunner, run_dir_name
    from chaos.scenario import load_scenario
    from govchaos.builtin import resolve

    _check_signing_args(args)
    faults = default_registry()
    loaded = load_scenario(resolve(args.scenario, kind="scenario"), faults=faults)
    loaded = loaded.with_seed(args.seed)
    scenario = loaded.scenario
    run_dir = Path(args.out) if args.out else Path("reports") / run_dir_name(scenario.name)
    progress = _Progress(sys.stderr)
    print(f"govchaos chaos run {scenario.name} (seed {scenario.seed}, "
          f"~{scenario.planned_duration_s():.0f} s) -> {run_dir}", file=sys.stderr)
    from chaos.runner.provenance import ci_from_env

    runner = ChaosRunner(
        loaded,
        run_dir=run_dir,
        registry=faults,
        toxiproxy_url=os.environ.get("TOXIPROXY_URL") or None,
        on_progress=progress,
        ci=ci_from_env(os.environ),  # the environment is read here, at the edge, only
    )

    async def main() -> Any:
        import signal

        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        # SIGTERM (CI cancelling a job) tears down like Ctrl-C does.
        if task is not None:
            loop.add_signal_handler(signal.SIGTERM, task.cancel)
        return await runner.run()

    try:
        report = asyncio.run(main())
    except (KeyboardInterrupt, asyncio.CancelledError):
        progress.done()
        _finish_partial(run_dir, args)
        return 130
    progress.done()
    # The summary is the command's result: stdout, unless stdout carries the JSON object.
    out = sys.stderr if args.json else sys.stdout
    _print_summary(report, run_dir, out)
    # Last, so the final lines are the check table and then the verify command.
    signed = finalize_report(run_dir, args, out)
    code = EXIT_BY_VERDICT[report.verdict]
    if args.json:
        print(json.dumps(result_json(report, run_dir, signed, code), indent=2))
    return code


def result_json(report: Any, run_dir: Path, signed: Any, exit_code: int) -> dict[str, Any]:
    """The one machine-readable object ``chaos run --json`` prints.

    Keys: ``scenario``, ``run_id``, ``verdict``, ``partial``, ``exit_code``,
    ``verdict_reasons``, ``checks`` (``total``/``passed``/``failed``/``skipped``),
    ``failed_checks`` (names), ``stopped_early``, ``policy_violations``, ``run_dir``, ``files``
    (paths of report.json, report.html, report.md, junit.xml, the bundle), ``signing`` (mode,
    key_id, identity, issuer) and ``verify_command``.
    """
    checks = [*report.steady_state.before, *report.assertions, *report.steady_state.after,
              *getattr(report, "stop_conditions", ())]
    skipped = [c for c in checks if getattr(c, "skipped", False)]
    failed = [c for c in checks if not c.passed and not getattr(c, "skipped", False)]
    v = report.policy_violations
    return {
        "scenario": report.scenario.name,
        "run_id": report.run_id,
        "verdict": report.verdict,
        "partial": report.partial,
        "exit_code": exit_code,
        "verdict_reasons": list(report.verdict_reasons),
        "checks": {"total": len(checks), "passed": len(checks) - len(failed) - len(skipped),
                   "failed": len(failed), "skipped": len(skipped)},
        "failed_checks": [c.name for c in failed],
        "stopped_early": report.stopped_early.model_dump(mode="json") if report.stopped_early else None,
        "policy_violations": None if v is None else {"count": v.count, "checked": v.checked},
        "run_dir": str(run_dir),
        "files": {name: str(run_dir / name) for name in
                  ("report.json", "report.html", "report.md", "junit.xml", signed.bundle)},
        "signing": signed.signing.model_dump(mode="json"),
        "verify_command": signed.verify_command,
    }


def _finish_partial(run_dir: Path, args: argparse.Namespace) -> None:
    """After Ctrl-C: render and sign the partial report if the runner got to write it.

    The report says ``partial: true`` and ``verdict: broken`` inside the signed ``report.json``,
    so the signature covers the label. Never raises (a second Ctrl-C skips signing).
    """
    from governance.errors import GovchaosError

    report = run_dir / "report.json"
    if not report.is_file():
        print(f"interrupted: no report was written in {run_dir}", file=sys.stderr)
        return
    print(f"interrupted: PARTIAL report written to {report} (partial: true, verdict: broken)",
          file=sys.stderr)
    try:
        finalize_report(run_dir, args, sys.stderr)
    except GovchaosError as exc:
        print(f"interrupted: the partial report is not signed: {exc.diagnostics()}",
              file=sys.stderr)
    except KeyboardInterrupt:
        print("interrupted again: the partial report is not signed", file=sys.stderr)


def _print_summary(report: Any, run_dir: Path, out: Any) -> None:
    """Faults, failovers, policy violations, verdict, then the check table with failed checks
    first (the signing hook's verify command follows it)."""
    from chaos.report.view import failovers_summary, probes_summary

    for fault in report.faults:
        effect = fault.effect.summary if fault.effect else fault.status
        print(f"fault {fault.name} ({fault.kind} on {fault.target}): {effect}", file=out)
    failovers = failovers_summary(report.metrics)  # the same sentence as report.html, report.md
    if failovers:
        print(failovers, file=out)
    from chaos.report.costs import cost_summary

    cost = cost_summary(report)  # the same figures as report.html, report.md
    if cost:
        print(cost, file=out)
    if report.policy_violations is not None:
        v = report.policy_violations
        print(f"policy violations: {v.count} (of {v.checked} upstream requests checked)", file=out)
        probes = probes_summary(v)  # the same sentence as report.html, report.md, report show
        if probes:
            print(f"  {probes}", file=out)
    from chaos.report.workflows import workflow_summary

    workflows = workflow_summary(report)
    if workflows:
        print(workflows, file=out)
    print(f"report: {run_dir / 'report.json'}" + (" (PARTIAL)" if report.partial else ""),
          file=out)
    print(f"verdict: {report.verdict.upper()}" + ("" if not report.verdict_reasons else
          "\n  " + "\n  ".join(report.verdict_reasons)), file=out)
    rows = [("steady_before", r) for r in report.steady_state.before]
    rows += [("assertion", r) for r in report.assertions]
    rows += [("steady_after", r) for r in report.steady_state.after]
    rows += [("stop_condition", r) for r in getattr(report, "stop_conditions", ())]
    if rows:
        def rank(row: tuple[str, Any]) -> int:
            r = row[1]
            return 2 if getattr(r, "skipped", False) else (1 if r.passed else 0)

        rows.sort(key=rank)  # stable: failed first, then passed, then not run
        width = max(len(r.name) for _, r in rows)
        print(f"\n{'':4} {'check':<{width}}  {'observed':>10}  {'expected':>12}  kind", file=out)
        for kind, r in rows:
            mark = "SKIP" if getattr(r, "skipped", False) else ("PASS" if r.passed else "FAIL")
            observed = "n/a" if r.observed is None else f"{r.observed:.4g}"
            print(f"{mark:4} {r.name:<{width}}  {observed:>10}  {r.op + ' ' + format(r.expected, 'g'):>12}"
                  f"  {kind}", file=out)
