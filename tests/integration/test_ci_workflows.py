"""The CI files `govchaos init` writes: valid YAML, valid against the public workflow schemas,
and every govchaos command line in them exists with those flags (parsed by the real CLI parser,
its inputs checked by a dry run).

The public schemas are SchemaStore's GitHub workflow and GitLab CI schemas as vendored by
check-jsonschema (a test dependency), so the check runs offline. The GitHub chaos job is also
run for real, from an installed wheel, in tests/integration/test_install.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from workflow_scripts import (
    fill_expressions,
    github_scripts,
    gitlab_scripts,
    govchaos_commands,
    load,
)

from govchaos.builtin import scenario_names
from govchaos.cli import build_parser, main
from govchaos.scaffold import GITHUB_WORKFLOW, GITLAB_CI

SCENARIO = "private-gpu-loss-pii"
ENV = {"SCENARIO": SCENARIO, "RUNNER_TEMP": "/tmp/runner", "GITHUB_STEP_SUMMARY": "/tmp/summary.md",
       "GOVCHAOS_SIGNING_KEY": "", "key_file": "/tmp/key.pem", "status": "0", "key_id": "ab" * 32}
CONTEXT = {"matrix.scenario": SCENARIO, "secrets.GOVCHAOS_SIGNING_KEY": "",
           "secrets.GOVCHAOS_SIGNING_KEY != ''": "false"}
PIPELINE = {("policy", "check"), ("policy", "test"), ("chaos", "validate"), ("chaos", "run"),
            ("report", "verify")}


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("ci") / "repo"
    assert main(["init", str(dest)]) == 0
    return dest


def _commands(repo: Path, which: str) -> list[list[str]]:
    if which == "github":
        scripts = github_scripts(repo / GITHUB_WORKFLOW)
    else:
        scripts = gitlab_scripts(repo / GITLAB_CI)
    out = []
    for script in scripts:
        env = {**ENV, **{k: fill_expressions(v, CONTEXT) for k, v in script.env.items()}}
        out += govchaos_commands(fill_expressions(script.text, CONTEXT), env)
    return out


@pytest.mark.parametrize("which", ["github", "gitlab"])
def test_every_govchaos_command_exists_with_its_flags(repo: Path, which: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    commands = _commands(repo, which)
    found = {tuple(c[1:3]) for c in commands}
    assert PIPELINE <= found, f"{which}: missing {PIPELINE - found}"
    parser = build_parser()
    monkeypatch.chdir(repo)
    for argv in commands:
        if argv[1:] == ["--version"]:
            assert main(["--version"]) == 0
            continue
        try:
            args = parser.parse_args(argv[1:])  # unknown flags or commands exit 2 here
        except SystemExit as exc:
            pytest.fail(f"{which}: `{' '.join(argv)}` does not parse (exit {exc.code})")
        assert getattr(args, "func", None) is not None, f"{which}: `{' '.join(argv)}` runs nothing"
        assert main([*argv[1:3], "--help"]) == 0
        # Dry run of the inputs: the scenario each job runs validates, the bundle checks.
        if argv[1:3] == ["chaos", "run"]:
            assert main(["chaos", "validate", args.scenario]) == 0
            assert args.out == f"reports/{SCENARIO}"
        if argv[1:3] == ["policy", "check"]:
            assert main(argv[1:]) == 0


@pytest.mark.parametrize("which", ["github", "gitlab"])
def test_every_verify_is_pinned_to_the_signer(repo: Path, which: str) -> None:
    commands = _commands(repo, which)
    runs = [c for c in commands if c[1:3] == ["chaos", "run"]]
    assert [("--key" in c) for c in runs] == [True, False]  # org key if configured, else ephemeral
    assert all("--json" in c for c in runs)  # the run's own key id, for the ephemeral pin
    verifies = [c for c in commands if c[1:3] == ["report", "verify"]]
    assert verifies and all("--require-origin" in c for c in verifies)
    pins = sorted(next(a for a in c if a in ("--key", "--expect-key-id")) for c in verifies)
    assert pins == ["--expect-key-id", "--key"]
    assert "keys/govchaos-signing.pub" in (repo / "README.md").read_text()


def test_github_workflow_runs_the_suite_and_keeps_the_evidence(repo: Path) -> None:
    doc = load(repo / GITHUB_WORKFLOW)
    chaos = doc["jobs"]["chaos"]
    assert chaos["strategy"]["matrix"]["scenario"] == scenario_names()
    assert chaos["strategy"]["fail-fast"] is False
    steps = {s.get("name"): s for s in chaos["steps"] if "name" in s}
    upload = steps["Upload the signed report"]
    assert upload["uses"].startswith("actions/upload-artifact@")
    assert upload["if"] == "always()"
    assert "reports/${{ matrix.scenario }}/" in upload["with"]["path"].splitlines()
    # chaos run appends report.md to $GITHUB_STEP_SUMMARY itself; a step notes a missing one.
    missing = steps["Note a missing report in the job summary"]
    assert missing["if"] == "always()" and '>> "$GITHUB_STEP_SUMMARY"' in missing["run"]
    assert steps["Verify the signed report, pinned to its signer"]["if"] == "always()"


def test_gitlab_pipeline_runs_the_suite_and_keeps_the_evidence(repo: Path) -> None:
    doc = load(repo / GITLAB_CI)
    chaos = doc["chaos"]
    assert chaos["parallel"]["matrix"] == [{"SCENARIO": scenario_names()}]
    assert chaos["artifacts"]["when"] == "always"
    assert chaos["artifacts"]["paths"] == ["reports/"]
    assert chaos["artifacts"]["reports"]["junit"] == "reports/*/junit.xml"
    assert any("report.md" in line for line in chaos["after_script"])


def _check_jsonschema(schema: str, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(path)],
        capture_output=True, text=True, timeout=120, env={**os.environ, "NO_COLOR": "1"},
    )


@pytest.mark.parametrize(("which", "schema"), [
    (GITHUB_WORKFLOW, "vendor.github-workflows"), (GITLAB_CI, "vendor.gitlab-ci"),
])
def test_workflow_validates_against_the_public_schema(repo: Path, tmp_path: Path, which: Path,
                                                      schema: str) -> None:
    ok = _check_jsonschema(schema, repo / which)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    # The check can fail: the same file with one value out of its schema's enum is rejected.
    text = (repo / which).read_text()
    old, new = (("contents: read", "contents: maybe") if which == GITHUB_WORKFLOW
                else ("when: always", "when: sometimes"))
    assert text.count(old) == 1
    broken = tmp_path / which.name
    broken.write_text(text.replace(old, new))
    bad = _check_jsonschema(schema, broken)
    assert bad.returncode == 1, bad.stdout + bad.stderr
