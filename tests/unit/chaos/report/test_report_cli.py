"""`govchaos report verify|show|schema|sign`, in process: output, --json, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from govchaos.cli import main
from governance.attest import KeyPairFiles


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_verify_clean_ephemeral(signed_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "report", "verify", str(signed_dir))
    assert code == 0
    for name in ("bundle signature", "subject digests", "completeness", "audit chain",
                 "report schema", "predicate consistency"):
        assert f"OK    {name}" in out
    assert "VALID" in out and "NOT origin" in out


def test_verify_json(signed_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "report", "verify", str(signed_dir), "--json")
    data = json.loads(out)
    assert code == 0 and data["valid"] and data["integrity_only"] and data["first_failure"] is None
    assert [c["status"] for c in data["checks"]] == ["ok", "skip"] + ["ok"] * 5
    assert data["verdict"] == "passed" and data["origin_pinned"] is False


def test_verify_prints_the_signed_verdict_and_key_id(
    make_run_dir: object, capsys: pytest.CaptureFixture[str]
) -> None:
    from chaos.report import finalize_report

    failed = make_run_dir(verdict="failed")  # type: ignore[operator]
    finalize_report(failed)
    code, out, _ = run(capsys, "report", "verify", str(failed))
    assert code == 0 and "VALID" in out  # authentic...
    assert "signed verdict: FAILED" in out  # ...and it says the run failed, from the signature
    assert "the run it records FAILED" in out
    assert "key id: " in out and "origin NOT pinned" in out


def test_verify_require_origin_exit_codes(signed_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "report", "verify", str(signed_dir), "--require-origin")
    assert code == 1 and "FAIL  signer origin" in out
    kid = json.loads(run(capsys, "report", "verify", str(signed_dir), "--json")[1])["key_id"]
    code, out, _ = run(capsys, "report", "verify", str(signed_dir), "--require-origin",
                       "--expect-key-id", kid)
    assert code == 0 and "OK    signer origin" in out and "origin pinned" in out
    code, out, _ = run(capsys, "report", "verify", str(signed_dir), "--expect-key-id", "f" * 64)
    assert code == 1 and "not by the expected key" in out
    code, _, err = run(capsys, "report", "verify", str(signed_dir), "--expect-key-id", "xyz")
    assert code == 2 and "64 hex digits" in err and "Traceback" not in err


def test_verify_tampered_exits_1_and_names_the_file(
    signed_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (signed_dir / "report.md").write_text("all good, trust me\n")
    code, out, err = run(capsys, "report", "verify", str(signed_dir))
    assert code == 1 and "Traceback" not in err
    assert "FAIL  subject digests" in out
    assert out.strip().splitlines()[-1].startswith(
        "INVALID: 1 check(s) failed; first: subject digests: report.md: contents differ")


def test_verify_tampered_json(signed_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (signed_dir / "extra.txt").write_text("x")
    code, out, _ = run(capsys, "report", "verify", str(signed_dir), "--json")
    data = json.loads(out)
    assert code == 1 and not data["valid"]
    assert data["first_failure"]["name"] == "completeness"
    assert data["first_failure"]["file"].endswith("extra.txt")


def test_verify_with_org_key(
    org_signed_dir: Path, org_keys: KeyPairFiles, other_keys: KeyPairFiles,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(capsys, "report", "verify", str(org_signed_dir), "--key", str(org_keys.public_key))[0] == 0
    code, out, _ = run(capsys, "report", "verify", str(org_signed_dir), "--key", str(other_keys.public_key))
    assert code == 1 and "FAIL  bundle signature" in out and "SKIP  subject digests" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["report", "verify"],  # no DIR
        ["report", "verify", "/nonexistent/report-dir"],
        ["report", "verify", "{dir}", "--key", "a.pub", "--cert-identity", "x"],
        ["report", "verify", "{dir}", "--cert-identity", "me@example.com"],  # no issuer
        ["report", "verify", "{dir}", "--key", "/nonexistent.pub"],
    ],
)
def test_usage_errors_exit_2(
    signed_dir: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code, _, err = run(capsys, *[a.replace("{dir}", str(signed_dir)) for a in argv])
    assert code == 2 and "Traceback" not in err


def test_org_signed_report_without_key_is_usage(org_signed_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "report", "verify", str(org_signed_dir))
    assert code == 2 and "--key PUB" in err


def test_show(signed_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "report", "show", str(signed_dir))
    assert code == 0
    assert out.startswith("provider-outage: PASSED")
    assert "PASS  success_rate >= 0.95" in out and "govchaos report verify" in out
    code, out, _ = run(capsys, "report", "show", str(signed_dir), "--json")
    assert code == 0 and json.loads(out)["verdict"] == "passed"


def test_show_not_a_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "report", "show", str(tmp_path))
    assert code == 2 and "report.json" in err


def test_schema(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "report", "schema")
    schema = json.loads(out)
    assert code == 0 and schema["properties"]["schema_version"]["const"] == "1"


def test_sign_with_org_key_then_verify(
    run_dir: Path, org_keys: KeyPairFiles, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "report", "sign", str(run_dir), "--key", str(org_keys.private_key))
    assert code == 0 and "verify with: govchaos report verify" in out and "--key" in out
    assert run(capsys, "report", "verify", str(run_dir), "--key", str(org_keys.public_key))[0] == 0


def test_sign_keyless_without_token_exits_2(
    run_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SIGSTORE_ID_TOKEN", raising=False)
    code, _, err = run(capsys, "report", "sign", str(run_dir), "--keyless")
    assert code == 2 and "OIDC identity token" in err
    assert not (run_dir / "report.sigstore.json").exists()
    assert not (run_dir / "report.html").exists()  # nothing written before the signer exists


def test_sign_with_bad_key_exits_2(run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "k.pem"
    bad.write_text("nope")
    code, _, err = run(capsys, "report", "sign", str(run_dir), "--key", str(bad))
    assert code == 2 and "Traceback" not in err


def test_resign_with_org_key_removes_the_ephemeral_public_key(
    signed_dir: Path, org_keys: KeyPairFiles, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (signed_dir / "signing-key.pub").exists()
    run(capsys, "report", "sign", str(signed_dir), "--key", str(org_keys.private_key))
    assert not (signed_dir / "signing-key.pub").exists()
    assert "ephemeral" not in (signed_dir / "report.md").read_text().lower()


def test_verify_missing_report_json_is_one_precise_failure(
    signed_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (signed_dir / "report.json").unlink()
    code, out, _ = run(capsys, "report", "verify", str(signed_dir))
    assert code == 1
    assert "Errno" not in out
    fails = [line for line in out.splitlines() if line.startswith("  FAIL")]
    assert len(fails) == 1 and "completeness" in fails[0]
    assert "report.json: signed but missing from the directory" in fails[0]
    assert "SKIP  report schema          skipped: needs report.json, which is missing" in out
    assert "SKIP  predicate consistency  skipped: needs report.json, which is missing" in out
    assert "INVALID: 1 check(s) failed; first: completeness: report.json" in out


def test_verify_unreadable_report_json_says_why_without_errno(
    signed_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (signed_dir / "report.json").unlink()
    (signed_dir / "report.json").mkdir()  # present, but not a file that can be read
    code, out, _ = run(capsys, "report", "verify", str(signed_dir))
    assert code == 1 and "Errno" not in out
    assert "report.json cannot be read: Is a directory" in out


def test_verify_without_audit_chain_does_not_claim_one(
    make_run_dir, capsys: pytest.CaptureFixture[str]
) -> None:
    from chaos.report import finalize_report

    run_dir = make_run_dir(audit=False)  # an external gateway's run: no audit.jsonl
    finalize_report(run_dir)
    code, out, _ = run(capsys, "report", "verify", str(run_dir))
    assert code == 0
    assert "SKIP  audit chain" in out
    assert "audit chain ends at the signed head" not in out
    assert "VALID: every file is exactly as signed; there is no audit chain to check" in out
