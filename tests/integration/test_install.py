"""Install govchaos like a user: build the wheel, install it into a fresh venv outside the
checkout, and run the product from there.

Offline and honest: the sdist and wheel are built from a clean copy of the checkout with
``python -m build --no-isolation`` (the test environment's setuptools and build, no download),
the wheel is built *from the sdist* as a package index would, and it goes into a new venv with
``pip install --no-index``. The new venv sees the dependencies through a folder of links to the
test environment's installed packages with everything govchaos left out, so pip resolves the
wheel's declared requirements against them and govchaos itself can only come from the wheel.
No step runs with the checkout on ``sys.path`` or as the working directory.

Then, as in the issue's "done means": ``govchaos init demo && cd demo && govchaos policy test
policies/ && govchaos chaos run scenarios/private-gpu-loss-pii.yaml && govchaos report verify
reports/<run>``; the same with ``builtin:`` names and no init; and the GitHub workflow's chaos
job, its run steps executed as written (signing with an organisation key from the secret).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import site
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from workflow_scripts import Script, fill_expressions, github_scripts, gitlab_scripts

from govchaos.builtin import CONTENT_DIRS
from govchaos.scaffold import GITHUB_WORKFLOW, GITLAB_CI

pytestmark = [pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
# What a clean copy leaves out: VCS data, environments, build and run output.
COPY_IGNORE = shutil.ignore_patterns(".git", ".venv*", "venv", "build", "dist", "*.egg-info",
                                     "__pycache__", "*.pyc", ".pytest_cache", ".hypothesis",
                                     "reports", "_builtin")
PACKAGES = ("governance", "gateway", "chaos", "govchaos")
DEPRECATION = re.compile(r"deprecat", re.IGNORECASE)


@dataclass(frozen=True)
class Installed:
    venv: Path
    wheel: Path
    build_log: str
    install_log: str
    work: Path

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("PYTHON", "VIRTUAL_ENV", "PIP_"))}
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(self.venv)
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        return env

    def run(self, *argv: str, cwd: Path, timeout: float = 120,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(argv), cwd=cwd, env=env or self.env(), capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)

    def govchaos(self, *argv: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return self.run(str(self.bin / "govchaos"), *argv, cwd=cwd, timeout=timeout)


def _ok(result: subprocess.CompletedProcess[str], what: str) -> str:
    assert result.returncode == 0, (
        f"{what}: exit {result.returncode}\n--- stdout\n{result.stdout[-4000:]}\n"
        f"--- stderr\n{result.stderr[-4000:]}")
    return result.stdout + result.stderr


def _clean_copy(target: Path) -> Path:
    """The checkout's files as a fresh clone would have them (tracked and new, never ignored
    ones), or, without git, the tree minus environments and output."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                                 "--exclude-standard"], cwd=REPO, capture_output=True,
                                check=True, timeout=60).stdout.decode().split("\0")
    except (OSError, subprocess.SubprocessError):
        shutil.copytree(REPO, target, ignore=COPY_IGNORE, symlinks=True)
        return target
    for rel in filter(None, listed):
        source = REPO / rel
        if source.is_file():  # a file deleted but not yet committed is listed too
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / rel)
    return target


def _deps_view(target: Path) -> Path:
    """Links to every installed distribution of the test environment except govchaos."""
    target.mkdir()
    for sp in site.getsitepackages():
        for entry in sorted(Path(sp).iterdir()):
            name = entry.name.lower()
            if "govchaos" in name or entry.name in PACKAGES or name.endswith(".pth"):
                continue  # the checkout's own packages, its editable finder and .pth hooks
            link = target / entry.name
            if not link.exists():
                link.symlink_to(entry)
    return target


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("install")
    assert not base.resolve().is_relative_to(REPO)
    source = _clean_copy(base / "source")
    dist = base / "dist"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    build = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(source)],
        cwd=base, env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    build_log = _ok(build, "python -m build")  # sdist, then the wheel from the sdist
    (wheel,) = dist.glob("govchaos-*.whl")

    venv = base / "venv"
    _ok(subprocess.run([sys.executable, "-m", "venv", str(venv)], env=env, capture_output=True,
                       text=True, timeout=180), "python -m venv")
    deps = _deps_view(base / "deps")
    (purelib,) = (venv / "lib").glob("python*/site-packages")
    (purelib / "zz-govchaos-test-deps.pth").write_text(
        f"import site; site.addsitedir({str(deps)!r})\n")
    work = base / "work"
    work.mkdir()
    inst = Installed(venv=venv, wheel=wheel, build_log=build_log, install_log="", work=work)
    install = inst.run(str(venv / "bin" / "python"), "-m", "pip", "install", "--no-index",
                       "--disable-pip-version-check", str(wheel), cwd=work, timeout=300)
    return Installed(venv=venv, wheel=wheel, build_log=build_log,
                     install_log=_ok(install, "pip install <wheel>"), work=work)


def test_wheel_carries_the_shipped_content_and_metadata(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as whl:
        names = set(whl.namelist())
        metadata = whl.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    for folder in CONTENT_DIRS:  # exactly the folders setup.py copies
        shipped = {p.relative_to(REPO).as_posix() for p in (REPO / folder).rglob("*")
                   if p.is_file() and "__pycache__" not in p.parts}
        packaged = {n.removeprefix("govchaos/_builtin/") for n in names
                    if n.startswith(f"govchaos/_builtin/{folder}/")}
        assert shipped and packaged == shipped, f"{folder}/ differs: {shipped ^ packaged}"
    for package in PACKAGES:
        assert f"{package}/py.typed" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert not any(n.startswith(("tests/", "bench/")) for n in names)
    assert "License-Expression: Apache-2.0" in metadata
    assert "Classifier: Typing :: Typed" in metadata
    assert "Project-URL: " in metadata
    assert "License :: " not in metadata  # a license classifier beside SPDX makes setuptools warn


def test_build_and_install_print_no_deprecation_warning(installed: Installed) -> None:
    assert not DEPRECATION.search(installed.build_log), installed.build_log
    assert not DEPRECATION.search(installed.install_log), installed.install_log
    assert "Successfully installed govchaos" in installed.install_log


def test_govchaos_runs_from_the_wheel_not_the_checkout(installed: Installed) -> None:
    out = _ok(installed.run(str(installed.bin / "python"), "-c",
                            "import govchaos, chaos, sys; print(govchaos.__file__); "
                            "print(chaos.__file__); print(sys.path)", cwd=installed.work), "import")
    files = out.splitlines()[:2]
    for file in files:
        assert Path(file).is_relative_to(installed.venv), file
    assert str(REPO) not in out
    version = _ok(installed.govchaos("--version", cwd=installed.work), "govchaos --version")
    assert version.splitlines()[0] == "govchaos 0.1.0"
    assert "report schema_version 1" in version
    assert re.search(r"^engine regorus 0\.13\.0 \(gordon-to-regorus\)$", version, re.M)


def _tree_digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _builtin_root(installed: Installed) -> Path:
    (root,) = installed.venv.glob("lib/python*/site-packages/govchaos/_builtin")
    return root


@pytest.mark.timeout(300)
def test_init_then_policy_test_chaos_run_report_verify(installed: Installed) -> None:
    _ok(installed.govchaos("init", "demo", cwd=installed.work), "govchaos init demo")
    demo = installed.work / "demo"
    again = installed.govchaos("init", "demo", cwd=installed.work)
    assert again.returncode == 2 and "--force" in again.stderr
    tests = _ok(installed.govchaos("policy", "test", "policies/", cwd=demo), "policy test")
    assert re.search(r"^\d+ passed, 0 failed, 0 errors$", tests, re.M), tests
    _ok(installed.govchaos("chaos", "run", "scenarios/private-gpu-loss-pii.yaml", cwd=demo,
                           timeout=180), "chaos run scenarios/private-gpu-loss-pii.yaml")
    (run,) = (demo / "reports").glob("private-gpu-loss-pii-*")
    verify = _ok(installed.govchaos("report", "verify", f"reports/{run.name}", cwd=demo),
                 "report verify")
    assert "valid" in verify.lower()
    report = json.loads((run / "report.json").read_text())
    assert report["verdict"] == "passed"


@pytest.mark.timeout(300)
def test_builtin_names_work_without_init(installed: Installed) -> None:
    before = _tree_digest(_builtin_root(installed))
    empty = installed.work / "no-checkout"
    empty.mkdir()
    listing = _ok(installed.govchaos("chaos", "list", cwd=empty), "chaos list")
    for name in ("private-gpu-loss-pii", "provider-outage", "stream-interruption"):
        assert re.search(rf"^{name}$", listing, re.M)
    tests = _ok(installed.govchaos("policy", "test", "-q", "builtin:policies", cwd=empty),
                "policy test builtin:policies")
    assert re.search(r"^\d+ passed, 0 failed, 0 errors$", tests, re.M), tests
    _ok(installed.govchaos("chaos", "run", "builtin:private-gpu-loss-pii", "--out", "run",
                           cwd=empty, timeout=180), "chaos run builtin:private-gpu-loss-pii")
    _ok(installed.govchaos("report", "verify", "run", cwd=empty), "report verify")
    unknown = installed.govchaos("chaos", "run", "builtin:private-gpu-los", cwd=empty)
    assert unknown.returncode == 2 and "did you mean 'private-gpu-loss-pii'" in unknown.stderr
    assert _tree_digest(_builtin_root(installed)) == before  # runs never write into the install
    assert sorted(p.name for p in empty.iterdir()) == ["run"]


def _add_quick_scenario(repo: Path) -> str:
    """A user's own short scenario (the suite's ~10 s quick run) added to a scaffolded repo, so
    the CI jobs below run in half the time of a standard scenario."""
    text = (REPO / "tests/integration/chaos/scenarios/quick.yaml").read_text()
    for old, new in (("../../../../policies", "../policies"),
                     ("../../../../scenarios/gateway.template.yaml", "gateway.template.yaml")):
        assert old in text
        text = text.replace(old, new)
    (repo / "scenarios" / "quick-outage.yaml").write_text(text)
    return "quick-outage"


def _run_job(installed: Installed, scripts: list[Script], job: str, context: dict[str, str],
             env: dict[str, str], cwd: Path) -> tuple[list[str], list[str]]:
    """Run a CI job's scripts with bash as the CI system would (``-eo pipefail``), except the
    ones that install govchaos from the package index (it is installed from the wheel)."""
    ran, skipped = [], []
    for script in scripts:
        if script.job != job:
            continue
        if "pip install" in script.text:
            skipped.append(script.name)
            continue
        step_env = {**installed.env(), **env,
                    **{k: fill_expressions(v, context) for k, v in script.env.items()}}
        result = installed.run("bash", "-eo", "pipefail", "-c",
                               fill_expressions(script.text, context), cwd=cwd, env=step_env,
                               timeout=180)
        _ok(result, f"{job}: {script.name!r}")
        ran.append(script.name)
    return ran, skipped


@pytest.mark.timeout(300)
def test_github_chaos_job_runs_as_written(installed: Installed) -> None:
    """The GitHub chaos job's run steps, executed as the workflow has them, for one matrix
    entry, with no signing secret: the run signs with an ephemeral key, the verify step pins
    the key id the run printed, and report.md lands in the job summary. Only the steps that
    need GitHub (checkout, setup-python, artifact upload) or the package index are not run."""
    repo = installed.work / "gh"
    _ok(installed.govchaos("init", str(repo), cwd=installed.work), "govchaos init")
    summary = installed.work / "step-summary.md"
    runner_temp = installed.work / "runner-temp"
    runner_temp.mkdir()
    scenario = _add_quick_scenario(repo)
    context = {"matrix.scenario": scenario, "secrets.GOVCHAOS_SIGNING_KEY": "",
               "secrets.GOVCHAOS_SIGNING_KEY != ''": "false"}
    ran, skipped = _run_job(installed, github_scripts(repo / GITHUB_WORKFLOW), "chaos", context,
                            {"RUNNER_TEMP": str(runner_temp), "GITHUB_STEP_SUMMARY": str(summary),
                             "GITHUB_ACTIONS": "true", "CI": "true"}, repo)
    assert skipped == ["Install govchaos"]
    assert ran == ["Run the scenario and sign its report (report.md goes to the job summary)",
                   "Verify the signed report, pinned to its signer",
                   "Note a missing report in the job summary"]
    run_dir = repo / "reports" / scenario
    result = json.loads((repo / "reports" / f"{scenario}.result.json").read_text())
    assert result["signing"]["key_id"] and (run_dir / "signing-key.pub").is_file()  # ephemeral
    assert summary.read_text().strip() == (run_dir / "report.md").read_text().strip()


@pytest.mark.timeout(300)
def test_gitlab_chaos_job_runs_as_written(installed: Installed) -> None:
    """The GitLab chaos job's script and after_script, executed as written, with the
    organisation key in GOVCHAOS_SIGNING_KEY and its public half committed: the report is
    signed by that key and verified against it; a different committed key fails the check."""
    repo = installed.work / "gl"
    _ok(installed.govchaos("init", str(repo), cwd=installed.work), "govchaos init")
    keys = installed.work / "org-keys"
    _ok(installed.govchaos("keys", "generate", "--out", str(keys), cwd=installed.work), "keys")
    (repo / "keys").mkdir()
    shutil.copy(keys / "govchaos-signing.pub", repo / "keys" / "govchaos-signing.pub")
    scenario = _add_quick_scenario(repo)
    ran, skipped = _run_job(installed, gitlab_scripts(repo / GITLAB_CI), "chaos", {},
                            {"SCENARIO": scenario, "GITLAB_CI": "true", "CI": "true",
                             "GOVCHAOS_SIGNING_KEY": (keys / "govchaos-signing.key").read_text()},
                            repo)
    assert skipped == ["before_script"] and ran == ["script", "after_script"]
    run_dir = repo / "reports" / scenario
    assert (run_dir / "report.sigstore.json").is_file()
    assert not (run_dir / "signing-key.pub").exists()  # signed with the org key, not ephemeral
    assert (run_dir / "junit.xml").is_file()  # the merge request's test report
    other = installed.work / "other-keys"
    _ok(installed.govchaos("keys", "generate", "--out", str(other), cwd=installed.work), "keys")
    wrong = installed.govchaos("report", "verify", f"reports/{scenario}", "--key",
                               str(other / "govchaos-signing.pub"), "--require-origin", cwd=repo)
    assert wrong.returncode == 1, wrong.stdout + wrong.stderr
