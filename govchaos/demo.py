"""`make demo`: the project's main job, end to end, on embedded defaults.

1. ``govchaos policy test policies/`` — the shipped policy bundle passes its own tests;
2. ``govchaos chaos run scenarios/private-gpu-loss-pii.yaml`` — a private GPU dies under PII
   load; the run proves PII never failed over to a cloud model, and writes a signed report;
3. ``govchaos report verify <run dir>`` — the auditor's offline check of that report.

Exits with the first non-zero exit code, so CI can run it too.
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

from govchaos.cli import main as govchaos

SCENARIO = Path("scenarios/private-gpu-loss-pii.yaml")


def _step(title: str, argv: list[str]) -> int:
    print(f"\n==> govchaos {' '.join(argv)}    # {title}", flush=True)
    code = govchaos(argv)
    if code != 0:
        print(f"demo: step failed with exit code {code}: govchaos {' '.join(argv)}", file=sys.stderr)
    return code


def run() -> int:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    run_dir = Path("reports") / f"{SCENARIO.stem}-{stamp}"
    steps = [
        ("the policy bundle passes its Rego tests and decision cases",
         ["policy", "test", "--quiet", "policies/"]),
        ("GPU loss under PII load: failover must never break policy",
         ["chaos", "run", str(SCENARIO), "--out", str(run_dir)]),
        ("an auditor verifies the signed report offline", ["report", "verify", str(run_dir)]),
    ]
    for title, argv in steps:
        code = _step(title, argv)
        if code != 0:
            return code
    print(
        f"\ndemo complete. Open {run_dir / 'report.html'} in a browser, or verify it again with:\n"
        f"    .venv/bin/govchaos report verify {run_dir}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(run())
