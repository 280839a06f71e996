"""`verify_report`: a clean report verifies; every kind of tampering is detected and named."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaos.report import (
    CHECKS,
    ReportDirError,
    ReportUsageError,
    finalize_report,
    predicate_for,
    verify_report,
)
from chaos.report.model import Report, write_report
from chaos.report.signing import SigningInfo
from governance.attest import (
    BUNDLE_FILENAME,
    EphemeralKeySigner,
    KeyFileError,
    KeyPairFiles,
    KeySigner,
    sign_directory,
)


def statuses(result: object) -> dict[str, str]:
    return {c.name: c.status for c in result.checks}  # type: ignore[attr-defined]


def first(result: object) -> tuple[str, str]:
    failure = result.first_failure  # type: ignore[attr-defined]
    assert failure is not None, "expected a failed check"
    return failure.name, failure.detail


def flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


# -- clean reports ---------------------------------------------------------------------------


def test_ephemeral_report_verifies_against_its_own_key(signed_dir: Path) -> None:
    result = verify_report(signed_dir)
    assert result.valid
    assert [c.name for c in result.checks] == list(CHECKS)
    assert statuses(result) == {**{n: "ok" for n in CHECKS}, "signer origin": "skip"}
    assert result.integrity_only and result.signing_mode == "ephemeral"
    assert not result.origin_pinned and result.verdict == "passed"
    assert (signed_dir / "signing-key.pub").is_file()


def test_org_key_report_verifies_with_the_key(org_signed_dir: Path, org_keys: KeyPairFiles) -> None:
    result = verify_report(org_signed_dir, key=org_keys.public_key)
    assert result.valid and not result.integrity_only and result.signing_mode == "key"
    assert not (org_signed_dir / "signing-key.pub").exists()


def test_org_key_report_without_key_is_a_usage_error(org_signed_dir: Path) -> None:
    with pytest.raises(ReportUsageError, match="--key PUB"):
        verify_report(org_signed_dir)


def test_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ReportDirError):
        verify_report(tmp_path / "missing")


def test_unreadable_given_key_is_a_usage_error(signed_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.pub"
    bad.write_text("not a key")
    with pytest.raises(KeyFileError):
        verify_report(signed_dir, key=bad)


def test_external_gateway_report_without_audit_log(make_run_dir: Callable[..., Path]) -> None:
    run = make_run_dir(audit=False)
    finalize_report(run)
    result = verify_report(run)
    assert result.valid and statuses(result)["audit chain"] == "skip"


# -- tampering with files --------------------------------------------------------------------

SIGNED_FILES = ["report.json", "report.html", "report.md", "junit.xml", "audit.jsonl",
                "requests.jsonl"]


@pytest.mark.parametrize("name", SIGNED_FILES)
def test_a_changed_byte_in_any_file_is_named(signed_dir: Path, name: str) -> None:
    flip_byte(signed_dir / name, (signed_dir / name).stat().st_size // 2)
    result = verify_report(signed_dir)
    assert not result.valid
    check, detail = first(result)
    assert check == "subject digests" and detail.startswith(f"{name}: contents differ")


def test_a_changed_byte_in_the_public_key_breaks_the_signature(signed_dir: Path) -> None:
    flip_byte(signed_dir / "signing-key.pub", 40)
    result = verify_report(signed_dir)
    assert first(result)[0] == "bundle signature"
    assert statuses(result)["subject digests"] == "skip"


def test_a_changed_byte_in_the_bundle_breaks_the_signature(signed_dir: Path) -> None:
    bundle = signed_dir / BUNDLE_FILENAME
    text = bundle.read_text()
    at = text.index('"sig": "') + 20
    bundle.write_text(text[:at] + ("A" if text[at] != "A" else "B") + text[at + 1:])
    assert first(verify_report(signed_dir))[0] == "bundle signature"


def test_a_reformatted_bundle_is_detected(signed_dir: Path) -> None:
    bundle = signed_dir / BUNDLE_FILENAME
    bundle.write_text(json.dumps(json.loads(bundle.read_text())))  # same JSON, other bytes
    name, detail = first(verify_report(signed_dir))
    assert name == "bundle signature" and "edited after signing" in detail


def test_a_missing_bundle(signed_dir: Path) -> None:
    (signed_dir / BUNDLE_FILENAME).unlink()
    name, detail = first(verify_report(signed_dir))
    assert name == "bundle signature" and "missing" in detail


def test_a_removed_file(signed_dir: Path) -> None:
    (signed_dir / "report.html").unlink()
    result = verify_report(signed_dir)
    name, detail = first(result)
    assert name == "completeness" and detail.startswith("report.html: signed but missing")
    assert statuses(result)["subject digests"] == "ok"


def test_an_added_file(signed_dir: Path) -> None:
    (signed_dir / "notes.txt").write_text("added later")
    name, detail = first(verify_report(signed_dir))
    assert name == "completeness" and detail.startswith("notes.txt: present but not signed")


def test_an_added_file_in_a_subdirectory(signed_dir: Path) -> None:
    (signed_dir / "extra").mkdir()
    (signed_dir / "extra" / "x.json").write_text("{}")
    assert first(verify_report(signed_dir))[1].startswith("extra/x.json: present but not signed")


# -- tampering with the audit chain ----------------------------------------------------------


def test_a_reordered_audit_record_names_the_record(signed_dir: Path) -> None:
    audit = signed_dir / "audit.jsonl"
    lines = audit.read_bytes().splitlines(keepends=True)
    lines[3], lines[4] = lines[4], lines[3]
    audit.write_bytes(b"".join(lines))
    result = verify_report(signed_dir)
    audit_check = next(c for c in result.checks if c.name == "audit chain")
    assert audit_check.status == "fail" and audit_check.seq == 3 and audit_check.line == 4
    assert "reordered" in audit_check.detail
    assert first(result)[1].startswith("audit.jsonl: contents differ")


def test_an_edited_audit_record_names_the_record(signed_dir: Path) -> None:
    audit = signed_dir / "audit.jsonl"
    lines = audit.read_bytes().splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if i >= 3 and b'"allow":true' in line)
    lines[at] = lines[at].replace(b'"allow":true', b'"allow":false', 1)  # a denial made an allow
    audit.write_bytes(b"".join(lines))
    audit_check = next(c for c in verify_report(signed_dir).checks if c.name == "audit chain")
    assert audit_check.status == "fail" and audit_check.seq == at and "edited" in audit_check.detail
    assert audit_check.line == at + 1


def test_a_truncated_audit_log(signed_dir: Path) -> None:
    audit = signed_dir / "audit.jsonl"
    lines = audit.read_bytes().splitlines(keepends=True)
    audit.write_bytes(b"".join(lines[:-2]))
    audit_check = next(c for c in verify_report(signed_dir).checks if c.name == "audit chain")
    assert audit_check.status == "fail" and audit_check.code == "audit_log_truncated"


# -- keys and re-signing ---------------------------------------------------------------------


def test_a_swapped_public_key_is_detected(signed_dir: Path) -> None:
    (signed_dir / "signing-key.pub").write_bytes(EphemeralKeySigner().public_pem)
    name, detail = first(verify_report(signed_dir))
    assert name == "bundle signature" and "signed with key" in detail


def test_wrong_key_given(org_signed_dir: Path, other_keys: KeyPairFiles) -> None:
    name, detail = first(verify_report(org_signed_dir, key=other_keys.public_key))
    assert name == "bundle signature" and "does not verify with the given key" in detail
    assert "untrusted hint" in detail  # the bundle's own claim is never presented as fact


def test_resigned_with_a_different_key_fails_against_the_org_key(
    org_signed_dir: Path, org_keys: KeyPairFiles, other_keys: KeyPairFiles
) -> None:
    # An attacker edits the verdict and re-signs everything with a key of their own.
    report = Report.model_validate_json((org_signed_dir / "report.json").read_bytes())
    write_report(org_signed_dir, report.model_copy(update={"verdict": "failed"}))
    finalize_report(org_signed_dir, key=other_keys.private_key)
    assert verify_report(org_signed_dir, key=other_keys.public_key).valid  # self-consistent...
    name, detail = first(verify_report(org_signed_dir, key=org_keys.public_key))
    assert name == "bundle signature" and "re-signed" in detail  # ...but not the org's


def _forge(signed: Path) -> str:
    """Edit the verdict of an ephemeral-key report and re-sign it with a fresh ephemeral key
    (what anyone with write access to the directory can do); returns the original key id."""
    original = verify_report(signed).key_id
    report = Report.model_validate_json((signed / "report.json").read_bytes())
    write_report(signed, report.model_copy(update={"verdict": "passed", "verdict_reasons": ()}))
    finalize_report(signed)
    assert original is not None
    return original


def test_forged_ephemeral_report_passes_only_without_origin(make_run_dir: Callable[..., Path]) -> None:
    run = make_run_dir(verdict="failed")
    finalize_report(run)
    assert verify_report(run).verdict == "failed"
    original = _forge(run)
    forged = verify_report(run)
    assert forged.valid and forged.verdict == "passed"  # integrity only: it is self-consistent
    required = verify_report(run, require_origin=True)
    assert not required.valid and first(required)[0] == "signer origin"
    assert "--require-origin" in first(required)[1]
    pinned = verify_report(run, expect_key_id=original)
    name, detail = first(pinned)
    assert not pinned.valid and name == "signer origin" and "not by the expected key" in detail
    assert statuses(pinned)["subject digests"] == "ok"  # the other checks still run


def test_expected_key_id_that_matches(signed_dir: Path) -> None:
    kid = verify_report(signed_dir).key_id
    assert kid is not None
    result = verify_report(signed_dir, expect_key_id=kid.upper(), require_origin=True)
    assert result.valid and result.origin_pinned and not result.integrity_only
    assert statuses(result)["signer origin"] == "ok"


def test_org_key_satisfies_require_origin(org_signed_dir: Path, org_keys: KeyPairFiles) -> None:
    result = verify_report(org_signed_dir, key=org_keys.public_key, require_origin=True)
    assert result.valid and result.origin_pinned


@pytest.mark.parametrize("bad", ["abc", "g" * 64, "a" * 63, "a" * 65, ""])
def test_malformed_expected_key_id_is_a_usage_error(signed_dir: Path, bad: str) -> None:
    with pytest.raises(ReportUsageError, match="64 hex digits"):
        verify_report(signed_dir, expect_key_id=bad)


def test_expected_key_id_with_a_keyless_identity_is_a_usage_error(signed_dir: Path) -> None:
    with pytest.raises(ReportUsageError, match="keyless"):
        verify_report(signed_dir, expect_key_id="a" * 64, identity=("a@b.c", "https://i.example"))


def test_ephemeral_report_checked_against_the_org_key_fails(
    signed_dir: Path, org_keys: KeyPairFiles
) -> None:
    assert first(verify_report(signed_dir, key=org_keys.public_key))[0] == "bundle signature"


def test_predicate_that_disagrees_with_report_json(run_dir: Path, org_keys: KeyPairFiles) -> None:
    finalize_report(run_dir, key=org_keys.private_key)
    report = Report.model_validate_json((run_dir / "report.json").read_bytes())
    signer = KeySigner.from_file(org_keys.private_key)
    info = SigningInfo(mode="key", key_id=signer.key_id)
    predicate = predicate_for(report.model_copy(update={"verdict": "passed", "run_id": "other"}), info)
    sign_directory(run_dir, predicate, signer)  # a signer's bug, or a key holder lying
    result = verify_report(run_dir, key=org_keys.public_key)
    check = next(c for c in result.checks if c.name == "predicate consistency")
    assert check.status == "fail" and check.field == "run_id"


def test_report_json_against_its_schema(run_dir: Path) -> None:
    data = json.loads((run_dir / "report.json").read_text())
    data["seed"] = "not a number"
    (run_dir / "report.json").write_text(json.dumps(data))
    with pytest.raises(ReportDirError):  # rendering refuses an invalid report
        finalize_report(run_dir)
    # Signed anyway (by hand): verify names the field.
    signer = EphemeralKeySigner()
    signer.write_public_key(run_dir, "signing-key.pub")
    sign_directory(run_dir, {"audit": {"file": None}, "signing": {"key_id": signer.key_id}}, signer)
    check = next(c for c in verify_report(run_dir).checks if c.name == "report schema")
    assert check.status == "fail" and check.field == "seed"


# -- any single byte -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from chaos.runner.synthetic import synthesize_run_dir

    run = synthesize_run_dir(tmp_path_factory.mktemp("pristine") / "run", duration_s=2, rps=5)
    finalize_report(run)
    assert verify_report(run).valid
    return run


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_single_byte_edit_is_detected(
    pristine: Path, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    files = sorted(p.name for p in pristine.iterdir())
    name = data.draw(st.sampled_from(files), label="file")
    size = (pristine / name).stat().st_size
    offset = data.draw(st.integers(0, size - 1), label="offset")
    work = tmp_path_factory.mktemp("edit") / "run"
    shutil.copytree(pristine, work)
    raw = bytearray((work / name).read_bytes())
    new = data.draw(st.integers(0, 255).filter(lambda b: b != raw[offset]), label="byte")
    raw[offset] = new
    (work / name).write_bytes(bytes(raw))
    try:
        result = verify_report(work)
    except ReportUsageError:  # only possible if signing-key.pub vanished: never for an edit
        raise
    assert not result.valid, f"edit of {name}@{offset} -> {new} went unnoticed"
    shutil.rmtree(work.parent)


def test_key_bundle_checked_as_keyless_names_the_mode(signed_dir: Path) -> None:
    result = verify_report(signed_dir, identity=("ci@example.com", "https://issuer.example"))
    name, detail = first(result)
    assert name == "bundle signature" and "--key" in detail
    assert result.key_source == "keyless identity"


def test_signing_refuses_a_symlink(run_dir: Path) -> None:
    (run_dir / "link.json").symlink_to(run_dir / "report.json")
    with pytest.raises(ReportDirError, match="symbolic link"):
        finalize_report(run_dir)


def test_keyless_with_an_unusable_token_is_a_signing_error(run_dir: Path) -> None:
    from governance.attest import SigningError

    with pytest.raises(SigningError) as info:
        finalize_report(run_dir, keyless=True, identity_token="not-a-jwt")
    assert info.value.exit_code == 2
    assert not (run_dir / "report.sigstore.json").exists()


def test_input_copies_must_match_their_digests(run_dir: Path) -> None:
    # A signer who swaps the scenario copy signs a self-consistent directory whose scenario
    # file is not the one report.json's digest names: predicate consistency says so.
    (run_dir / "scenario.yaml").write_text("name: something-else\n")
    finalize_report(run_dir)
    result = verify_report(run_dir)
    check = next(c for c in result.checks if c.name == "predicate consistency")
    assert check.status == "fail" and check.field == "scenario.sha256"
    assert statuses(result)["subject digests"] == "ok"


def test_provenance_is_in_the_signed_predicate(run_dir: Path) -> None:
    from chaos.report.model import CiInfo, Provenance

    report = Report.model_validate_json((run_dir / "report.json").read_bytes())
    ci = CiInfo(provider="github-actions", run_url="https://github.example/a/b/actions/runs/1")
    write_report(run_dir, report.model_copy(update={"provenance": Provenance(ci=ci)}))
    finalize_report(run_dir)
    assert verify_report(run_dir).valid
    import base64

    bundle = json.loads((run_dir / BUNDLE_FILENAME).read_text())
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    assert statement["predicate"]["provenance"]["ci"]["run_url"] == ci.run_url


def test_every_file_has_one_mode(signed_dir: Path) -> None:
    modes = {p.name: p.stat().st_mode & 0o777 for p in signed_dir.iterdir()}
    assert len(set(modes.values())) == 1, modes
