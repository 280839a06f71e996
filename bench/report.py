"""Report benchmark: render + sign, and verify, the report of a 60 s run.

    python bench/report.py [--json FILE] [--seconds 60] [--rps 200] [--repeat 5]

Synthesizes (not timed) a run directory like a 60 s run at 200 requests/s writes:
``requests.jsonl`` with 12,000 request records and a real hash-chained ``audit.jsonl`` (a
decision and one or two attempts per request, ~28,000 records), plus ``report.json`` built from
the runner's models. Then measures, median over ``--repeat`` fresh copies:

- ``render_sign_s``: :func:`chaos.report.finalize_report` with an organisation key — read and
  validate report.json, bucket requests.jsonl per second, summarize the audit log, write
  report.html / report.md / junit.xml, hash every file and sign the in-toto Statement;
- ``verify_s``: :func:`chaos.report.verify_report` — signature, every subject's sha256, the whole
  audit chain to the signed head, report.json against its JSON Schema, predicate consistency.

Target (DESIGN.md §6): ≤ 1 s each.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 1.0


def run(seconds: float, rps: float, repeat: int) -> dict:
    from chaos.report import finalize_report, verify_report
    from chaos.runner.synthetic import synthesize_run_dir
    from governance.attest import generate_keypair

    with tempfile.TemporaryDirectory(prefix="govchaos-bench-report-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        template = synthesize_run_dir(root / "template", duration_s=seconds, rps=rps)
        synth_s = time.perf_counter() - t0
        keys = generate_keypair(root / "keys")
        records = sum(1 for _ in open(template / "audit.jsonl", "rb"))
        requests = sum(1 for _ in open(template / "requests.jsonl", "rb"))
        render_sign, verify = [], []
        signed: Path | None = None
        for n in range(repeat + 1):  # the first round warms imports and caches, not counted
            work = root / f"run-{n}"
            shutil.copytree(template, work)
            t = time.perf_counter()
            finalize_report(work, key=keys.private_key)
            elapsed = time.perf_counter() - t
            t = time.perf_counter()
            result = verify_report(work, key=keys.public_key)
            verified = time.perf_counter() - t
            if not result.valid:
                raise SystemExit(f"benchmark report does not verify: {result.first_failure}")
            if n:
                render_sign.append(elapsed)
                verify.append(verified)
            signed = work
        assert signed is not None
        size = sum(p.stat().st_size for p in signed.iterdir())
        files = sorted(p.name for p in signed.iterdir())
    return {
        "render_sign_s": round(statistics.median(render_sign), 4),
        "render_sign_best_s": round(min(render_sign), 4),
        "verify_s": round(statistics.median(verify), 4),
        "verify_best_s": round(min(verify), 4),
        "run_seconds": seconds,
        "run_rps": rps,
        "requests": requests,
        "audit_records": records,
        "report_dir_bytes": size,
        "report_files": files,
        "repeat": repeat,
        "synthesize_s": round(synth_s, 3),
        "targets": {"render_sign_s": TARGET_S, "verify_s": TARGET_S},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--seconds", type=float, default=60.0, help="simulated run length")
    parser.add_argument("--rps", type=float, default=200.0, help="simulated request rate")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    if not (0 < args.seconds <= 600) or not (0 < args.rps <= 2000) or not (1 <= args.repeat <= 50):
        parser.error("--seconds in (0, 600], --rps in (0, 2000], --repeat in [1, 50]")
    results = run(args.seconds, args.rps, args.repeat)
    print(f"report of a {args.seconds:g} s run at {args.rps:g} req/s: {results['requests']:,} "
          f"requests, {results['audit_records']:,} audit records, "
          f"{results['report_dir_bytes'] / 1e6:.1f} MB; median of {args.repeat}")
    print(f"{'metric':<26} {'value':>10}  target")
    for name in ("render_sign_s", "render_sign_best_s", "verify_s", "verify_best_s"):
        target = f"<= {TARGET_S:g} s" if name in results["targets"] else ""
        print(f"{name:<26} {results[name]:>10.3f}  {target}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
