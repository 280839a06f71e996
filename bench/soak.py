"""Soak: every standard scenario × N seeds, a pass/flake table and JSON.

    python bench/soak.py [--seeds 10] [--seed-start 1] [--scenario NAME ...] [--burn 2]
                         [--lock /tmp/govchaos-heavy.lock] [--json reports/bench/soak.json]

Each run is ``govchaos chaos run SCENARIO --seed S`` in its own process, exactly as CI runs it.
Every standard scenario is expected to pass, so any other verdict is a flake: the table counts
them per scenario and the JSON keeps each run's verdict, reasons, duration and report path.
``--burn K`` runs K CPU-burning processes alongside every run (a busy CI machine);
``--lock`` holds an exclusive ``flock`` on that file for each run (one run at a time on a shared
machine; other users of the same lock wait between runs, not for the whole soak).

Exit code: 0 when no run flaked, 1 otherwise, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import multiprocessing
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = REPO / "scenarios"
RUN_TIMEOUT_S = 300


@dataclass
class SoakRun:
    scenario: str
    seed: int
    verdict: str  # passed | failed | broken | error (no report)
    exit_code: int
    duration_s: float
    reasons: list[str] = field(default_factory=list)
    unverified_faults: list[str] = field(default_factory=list)
    report: str | None = None
    burners: int = 0


def standard_scenarios() -> list[Path]:
    """``scenarios/*.yaml`` except templates."""
    return sorted(p for p in SCENARIOS.glob("*.yaml") if not p.name.endswith(".template.yaml"))


def _burn() -> None:  # pragma: no cover - runs in a child process
    while True:
        pass


@contextlib.contextmanager
def burners(count: int) -> Iterator[None]:
    procs = [multiprocessing.Process(target=_burn, daemon=True) for _ in range(count)]
    for p in procs:
        p.start()
    try:
        yield
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.join(5)


@contextlib.contextmanager
def held(lock: Path | None) -> Iterator[None]:
    if lock is None:
        yield
        return
    with open(lock, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_one(scenario: Path, seed: int, out_root: Path, burn: int) -> SoakRun:
    out = out_root / (f"{scenario.stem}-seed{seed}" + ("" if not burn else f"-burn{burn}"))
    started = time.monotonic()
    with burners(burn):
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "govchaos", "chaos", "run", str(scenario),
                 "--seed", str(seed), "--out", str(out)],
                cwd=REPO, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
                env={**os.environ, "PYTHONPATH": str(REPO) + os.pathsep
                     + os.environ.get("PYTHONPATH", "")},
            )
            code, stderr = proc.returncode, proc.stderr
        except subprocess.TimeoutExpired:
            code, stderr = 124, f"timed out after {RUN_TIMEOUT_S} s"
    duration = round(time.monotonic() - started, 1)
    report_file = out / "report.json"
    if not report_file.is_file():
        return SoakRun(scenario.stem, seed, "error", code, duration,
                       [stderr.strip()[-500:]], burners=burn)
    report = json.loads(report_file.read_text())
    unverified = [f["name"] for f in report.get("faults", [])
                  if f.get("effect") is not None and not f["effect"].get("verified")]
    return SoakRun(scenario.stem, seed, report["verdict"], code, duration,
                   list(report.get("verdict_reasons", [])), unverified, str(report_file),
                   burners=burn)


def table(runs: list[SoakRun]) -> str:
    rows: dict[str, list[SoakRun]] = {}
    for run in runs:
        rows.setdefault(run.scenario, []).append(run)
    width = max([len("scenario")] + [len(s) for s in rows])
    lines = [f"{'scenario':<{width}}  runs  pass  flake  seeds flaked"]
    for name, group in rows.items():
        flaked = [r for r in group if r.verdict != "passed"]
        seeds = ", ".join(f"{r.seed}:{r.verdict}" for r in flaked) or "-"
        lines.append(f"{name:<{width}}  {len(group):>4}  {len(group) - len(flaked):>4}  "
                     f"{len(flaked):>5}  {seeds}")
    total = sum(1 for r in runs if r.verdict != "passed")
    lines.append(f"{'total':<{width}}  {len(runs):>4}  {len(runs) - total:>4}  {total:>5}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/soak.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=10, help="seeds per scenario (default 10)")
    parser.add_argument("--seed-start", type=int, default=1, help="first seed (default 1)")
    parser.add_argument("--scenario", action="append", default=[],
                        help="a standard scenario by name (repeatable; default: all)")
    parser.add_argument("--burn", type=int, default=0, help="CPU-burning processes alongside")
    parser.add_argument("--lock", type=Path, default=None, help="flock this file for each run")
    parser.add_argument("--out", type=Path, default=REPO / "reports" / "soak",
                        help="where run directories go (default reports/soak)")
    parser.add_argument("--json", type=Path, default=None, help="write the runs as JSON here")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return 2 if exc.code else 0
    known = {p.stem: p for p in standard_scenarios()}
    unknown = [s for s in args.scenario if s not in known]
    if unknown or args.seeds < 1 or args.burn < 0:
        problem = (f"unknown scenario(s): {', '.join(unknown)} (known: {', '.join(known)})"
                   if unknown else "--seeds must be >= 1 and --burn >= 0")
        print(f"bench/soak.py: {problem}", file=sys.stderr)
        return 2
    chosen = [known[s] for s in args.scenario] if args.scenario else list(known.values())
    runs: list[SoakRun] = []
    for scenario in chosen:
        for seed in range(args.seed_start, args.seed_start + args.seeds):
            with held(args.lock):
                run = run_one(scenario, seed, args.out, args.burn)
            runs.append(run)
            mark = "ok   " if run.verdict == "passed" else "FLAKE"
            detail = "" if run.verdict == "passed" else f" {run.verdict}: {'; '.join(run.reasons)[:300]}"
            print(f"{mark} {scenario.stem} seed {seed} ({run.duration_s:.0f} s){detail}",
                  file=sys.stderr, flush=True)
    print(table(runs))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "seeds": args.seeds, "seed_start": args.seed_start, "burn": args.burn,
            "flakes": sum(1 for r in runs if r.verdict != "passed"),
            "runs": [asdict(r) for r in runs],
        }, indent=2) + "\n")
    return 0 if all(r.verdict == "passed" for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
