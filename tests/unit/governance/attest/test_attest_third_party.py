"""The documented OpenSSL/jq recipe (docs/verifying-reports.md) verifies our bundles."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from governance.attest import KeySigner, generate_keypair, sign_directory

DOC = Path(__file__).resolve().parents[4] / "docs" / "verifying-reports.md"
TOOLS = ("jq", "openssl", "sha256sum", "base64", "bash")


def _recipe() -> str:
    text = DOC.read_text()
    section = text.split("### Key-signed reports with OpenSSL", 1)[1]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]


def _run(report: Path, pub: Path) -> subprocess.CompletedProcess[str]:
    script = _recipe().replace("REPORT=reports/my-run", f"REPORT={report}")
    script = script.replace("PUB=govchaos-signing.pub", f"PUB={pub}")
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.skipif(
    any(shutil.which(t) is None for t in TOOLS), reason="needs jq, openssl, sha256sum, base64"
)
def test_openssl_recipe_accepts_a_good_report_and_rejects_tampering(tmp_path: Path) -> None:
    pair = generate_keypair(tmp_path / "keys")
    report = tmp_path / "report"
    (report / "charts").mkdir(parents=True)
    (report / "report.json").write_text('{"verdict": "pass"}')
    (report / "charts" / "a.svg").write_text("<svg/>")
    sign_directory(report, {"verdict": "pass"}, KeySigner.from_file(pair.private_key))

    good = _run(report, pair.public_key)
    assert good.returncode == 0, good.stderr
    assert "Verified OK" in good.stdout

    (report / "report.json").write_text('{"verdict": "fail"}')
    assert _run(report, pair.public_key).returncode != 0
    (report / "report.json").write_text('{"verdict": "pass"}')

    (report / "extra.txt").write_text("x")
    assert _run(report, pair.public_key).returncode != 0
    (report / "extra.txt").unlink()

    other = generate_keypair(tmp_path / "other")
    assert _run(report, other.public_key).returncode != 0
    assert _run(report, pair.public_key).returncode == 0
