"""The third-party route of docs/verifying-reports.md: the official Sigstore JavaScript
libraries (npm ``sigstore@5.0.1``: ``@sigstore/bundle`` + ``@sigstore/verify``) verify a
key-signed report through ``examples/verify-report-sigstore-js.cjs``, and reject a tampered
payload and a tampered file.

Runs when node and npm are present; the packages are installed once into the git-ignored
``.cache/sigstore-js-5.0.1`` of the checkout (npm's own cache under the test's temp dir). If npm
cannot install them (no registry), the test skips with npm's message.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from chaos.report import finalize_report
from chaos.runner.synthetic import synthesize_run_dir
from governance.attest import generate_keypair

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "examples" / "verify-report-sigstore-js.cjs"
PACKAGE = "sigstore@5.0.1"
PREFIX = REPO / ".cache" / "sigstore-js-5.0.1"

pytestmark = pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None,
                                reason="node/npm are not installed")


@pytest.fixture(scope="module")
def node_modules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    modules = PREFIX / "node_modules"
    if not (modules / "@sigstore" / "verify" / "package.json").is_file():
        PREFIX.mkdir(parents=True, exist_ok=True)
        cache = tmp_path_factory.mktemp("npm-cache")
        try:
            done = subprocess.run(
                ["npm", "install", "--no-audit", "--no-fund", "--no-save", "--prefix", str(PREFIX),
                 "--cache", str(cache), PACKAGE],
                capture_output=True, text=True, timeout=240, check=False)
        except subprocess.TimeoutExpired:
            pytest.skip(f"npm install {PACKAGE} timed out")
        if done.returncode != 0:
            pytest.skip(f"npm could not install {PACKAGE}: {done.stderr.strip()[-400:]}")
    return modules


@pytest.fixture
def signed(tmp_path: Path) -> tuple[Path, Path]:
    keys = generate_keypair(tmp_path / "keys")
    run = synthesize_run_dir(tmp_path / "run", duration_s=2, rps=5, verdict="failed")
    finalize_report(run, key=keys.private_key)
    return run, keys.public_key


def _verify(modules: Path, run: Path, pub: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NODE_PATH": str(modules)}
    return subprocess.run(["node", str(SCRIPT), str(run), str(pub)], capture_output=True, text=True,
                          timeout=60, env=env, check=False)


def test_the_js_route_verifies_a_key_signed_report(node_modules: Path, signed: tuple[Path, Path]) -> None:
    run, pub = signed
    done = _verify(node_modules, run, pub)
    assert done.returncode == 0, done.stderr
    assert "VALID: signature and" in done.stdout and "signed verdict: failed" in done.stdout


def test_the_js_route_rejects_a_tampered_payload(node_modules: Path, signed: tuple[Path, Path]) -> None:
    run, pub = signed
    bundle_path = run / "report.sigstore.json"
    bundle = json.loads(bundle_path.read_text())
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    statement["predicate"]["verdict"] = "passed"  # the forger's edit
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(
        json.dumps(statement, sort_keys=True, separators=(",", ":")).encode()).decode()
    bundle_path.write_text(json.dumps(bundle, indent=2))
    done = _verify(node_modules, run, pub)
    assert done.returncode == 1 and "INVALID: signature" in done.stderr, done.stderr


def test_the_js_route_rejects_a_tampered_file(node_modules: Path, signed: tuple[Path, Path]) -> None:
    run, pub = signed
    report = run / "report.json"
    report.write_text(report.read_text().replace('"verdict": "failed"', '"verdict": "passed"'))
    done = _verify(node_modules, run, pub)
    assert done.returncode == 1
    assert "report.json: contents differ from what was signed" in done.stderr


def test_the_js_route_rejects_another_key(node_modules: Path, signed: tuple[Path, Path],
                                          tmp_path: Path) -> None:
    run, _ = signed
    other = generate_keypair(tmp_path / "other")
    done = _verify(node_modules, run, other.public_key)
    assert done.returncode == 1 and "INVALID: signature" in done.stderr
