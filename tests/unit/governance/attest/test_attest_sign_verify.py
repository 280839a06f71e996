from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sigstore import dsse as sigstore_dsse

from governance.attest import (
    BUNDLE_FILENAME,
    BUNDLE_MEDIA_TYPE,
    CHAOS_REPORT_PREDICATE,
    INTOTO_PAYLOAD_TYPE,
    STATEMENT_TYPE,
    BundleFormatError,
    EphemeralKeySigner,
    KeyMismatch,
    KeySigner,
    SignatureError,
    SignatureMismatch,
    Signer,
    SigningError,
    StatementError,
    SubjectDigestMismatch,
    SubjectError,
    SubjectMissing,
    SubjectUnlisted,
    key_bundle,
    pae,
    parse_bundle,
    sign_directory,
    signer_for,
    statement_for_directory,
    verify_bundle,
    verify_subjects,
    write_bundle,
)


def _report(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "report.json").write_text('{"verdict": "pass"}')
    (directory / "audit.jsonl").write_text('{"seq":0}\n')
    (directory / "charts").mkdir(exist_ok=True)
    (directory / "charts" / "latency.svg").write_text("<svg/>")
    return directory


def test_pae_matches_the_dsse_spec_and_sigstore() -> None:
    assert pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )
    assert pae(INTOTO_PAYLOAD_TYPE, b"{}") == sigstore_dsse._pae(INTOTO_PAYLOAD_TYPE, b"{}")
    # lengths are in bytes, not characters
    assert pae("t", "é".encode()) == b"DSSEv1 1 t 2 \xc3\xa9"


def test_statement_for_directory_shape(tmp_path: Path) -> None:
    report = _report(tmp_path / "r")
    (report / BUNDLE_FILENAME).write_text("old")
    statement = statement_for_directory(report, {"verdict": "pass"})
    body = json.loads(statement.to_payload())
    assert body["_type"] == STATEMENT_TYPE
    assert body["predicateType"] == CHAOS_REPORT_PREDICATE
    assert [s["name"] for s in body["subject"]] == ["audit.jsonl", "charts/latency.svg", "report.json"]
    assert all(set(s["digest"]) == {"sha256"} for s in body["subject"])


def test_statement_refuses_symlinks_and_empty_dirs(tmp_path: Path) -> None:
    with pytest.raises(StatementError, match="nothing to sign"):
        statement_for_directory(tmp_path, {})
    report = _report(tmp_path / "r")
    (report / "link").symlink_to(report / "report.json")
    with pytest.raises(StatementError, match="symbolic link"):
        statement_for_directory(report, {})


def test_key_signed_bundle_round_trip(tmp_path: Path) -> None:
    report = _report(tmp_path / "r")
    signer = EphemeralKeySigner()
    assert isinstance(signer, Signer)
    path = sign_directory(report, {"verdict": "pass"}, signer)
    raw = json.loads(path.read_text())
    assert raw["mediaType"] == BUNDLE_MEDIA_TYPE
    assert raw["verificationMaterial"]["publicKey"]["hint"] == signer.key_id
    assert raw["dsseEnvelope"]["payloadType"] == INTOTO_PAYLOAD_TYPE
    statement = verify_bundle(path, key=signer.public_key)
    assert statement.predicate == {"verdict": "pass"}
    assert verify_subjects(statement, report) == ("audit.jsonl", "charts/latency.svg", "report.json")
    # an independent DSSE implementation accepts our envelope
    envelope = sigstore_dsse.Envelope._from_json(json.dumps(raw["dsseEnvelope"]))
    assert sigstore_dsse._verify(signer.public_key, envelope)


def test_verify_with_key_file(tmp_path: Path) -> None:
    from governance.attest import generate_keypair

    pair = generate_keypair(tmp_path / "keys")
    report = _report(tmp_path / "r")
    sign_directory(report, {}, KeySigner.from_file(pair.private_key))
    verify_bundle(report / BUNDLE_FILENAME, key=pair.public_key)


def test_swapped_key_is_detected(tmp_path: Path) -> None:
    report = _report(tmp_path / "r")
    sign_directory(report, {}, EphemeralKeySigner())
    with pytest.raises(KeyMismatch, match="signed with key"):
        verify_bundle(report / BUNDLE_FILENAME, key=EphemeralKeySigner().public_key)


def test_resigned_statement_with_another_key_is_detected(tmp_path: Path) -> None:
    report = _report(tmp_path / "r")
    honest = EphemeralKeySigner()
    sign_directory(report, {"verdict": "fail"}, honest)
    (report / "report.json").write_text('{"verdict": "pass"}')
    sign_directory(report, {"verdict": "pass"}, EphemeralKeySigner())  # attacker re-signs
    with pytest.raises(KeyMismatch):
        verify_bundle(report / BUNDLE_FILENAME, key=honest.public_key)


def test_hint_edited_to_another_key_is_detected(tmp_path: Path) -> None:
    report = _report(tmp_path / "r")
    signer = EphemeralKeySigner()
    path = sign_directory(report, {}, signer)
    raw = json.loads(path.read_text())
    raw["verificationMaterial"]["publicKey"]["hint"] = "0" * 64
    with pytest.raises(KeyMismatch, match="edited"):
        verify_bundle(raw, key=signer.public_key)


def test_payload_swapped_under_valid_signature_is_detected(tmp_path: Path) -> None:
    signer = EphemeralKeySigner()
    bundle = signer.sign(INTOTO_PAYLOAD_TYPE, b'{"a":1}')
    raw = bundle.to_dict()
    raw["dsseEnvelope"]["payload"] = base64.b64encode(b'{"a":2}').decode()
    with pytest.raises(SignatureMismatch, match="altered"):
        verify_bundle(raw, key=signer.public_key)
    raw = bundle.to_dict()
    raw["dsseEnvelope"]["payloadType"] = "text/plain"  # PAE binds the type
    with pytest.raises(SignatureMismatch):
        verify_bundle(raw, key=signer.public_key)


def test_signed_non_statement_payload_is_rejected_after_the_signature() -> None:
    signer = EphemeralKeySigner()
    bundle = signer.sign(INTOTO_PAYLOAD_TYPE, b'{"a":1}')
    with pytest.raises(StatementError, match="not an in-toto Statement"):
        verify_bundle(bundle, key=signer.public_key)
    other = signer.sign("text/plain", b"hello")
    with pytest.raises(StatementError, match="payload type"):
        verify_bundle(other, key=signer.public_key)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda b: b.update(mediaType="application/vnd.dev.sigstore.bundle+json;version=0.1"), "media type"),
        (lambda b: b.pop("dsseEnvelope"), "messageSignature or dsseEnvelope"),
        (lambda b: b["dsseEnvelope"]["signatures"].append(b["dsseEnvelope"]["signatures"][0]), "exactly one"),
        (lambda b: b["dsseEnvelope"].update(payload="not base64!"), "base64"),
        (lambda b: b.pop("verificationMaterial"), "verificationMaterial"),
    ],
)
def test_malformed_bundles(edit, message: str) -> None:
    signer = EphemeralKeySigner()
    raw = signer.sign(INTOTO_PAYLOAD_TYPE, b"{}").to_dict()
    edit(raw)
    with pytest.raises(BundleFormatError, match=message):
        verify_bundle(raw, key=signer.public_key)


def test_bundle_file_problems(tmp_path: Path) -> None:
    with pytest.raises(BundleFormatError, match="cannot read"):
        parse_bundle(tmp_path / "absent.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(BundleFormatError, match="not valid JSON") as info:
        parse_bundle(bad)
    assert info.value.location.file == str(bad)


def test_keyless_bundle_needs_identity_and_vice_versa() -> None:
    signer = EphemeralKeySigner()
    bundle = signer.sign(INTOTO_PAYLOAD_TYPE, b"{}")
    with pytest.raises(BundleFormatError, match="signed with a key"):
        verify_bundle(bundle, identity=("someone@example.com", "https://issuer.example"))
    with pytest.raises(ValueError):
        verify_bundle(bundle)


def test_subject_mismatches_are_named(tmp_path: Path) -> None:
    report = _report(tmp_path / "r")
    signer = EphemeralKeySigner()
    sign_directory(report, {}, signer)
    statement = verify_bundle(report / BUNDLE_FILENAME, key=signer.public_key)

    (report / "report.json").write_text('{"verdict": "fail"}')
    with pytest.raises(SubjectDigestMismatch, match="report.json: contents differ"):
        verify_subjects(statement, report)
    (report / "report.json").write_text('{"verdict": "pass"}')

    (report / "charts" / "latency.svg").unlink()
    with pytest.raises(SubjectMissing, match="charts/latency.svg: signed but missing"):
        verify_subjects(statement, report)
    (report / "charts" / "latency.svg").write_text("<svg/>")

    (report / "extra.txt").write_text("x")
    (report / "audit.jsonl").write_text("")
    with pytest.raises(SubjectDigestMismatch) as info:
        verify_subjects(statement, report)
    assert info.value.problems == (
        "audit.jsonl: contents differ from what was signed (sha256)",
        "extra.txt: present but not signed (extra file)",
    )
    assert "1 more problem" in info.value.message
    (report / "audit.jsonl").write_text('{"seq":0}\n')
    with pytest.raises(SubjectUnlisted, match="extra.txt"):
        verify_subjects(statement, report)


def test_unsafe_subject_names_are_refused(tmp_path: Path) -> None:
    from governance.attest import Statement, Subject

    statement = Statement(
        subject=(Subject(name="../etc/passwd", digest={"sha256": "0" * 64}),),
        predicate_type=CHAOS_REPORT_PREDICATE,
    )
    with pytest.raises(SubjectError, match="unsafe"):
        verify_subjects(statement, _report(tmp_path / "r"))


def test_signer_registry() -> None:
    assert isinstance(signer_for("ephemeral"), EphemeralKeySigner)
    with pytest.raises(SigningError, match="did you mean 'keyless'"):
        signer_for("keyles")
    with pytest.raises(SigningError, match="needs a private key"):
        signer_for("key")
    with pytest.raises(SigningError, match="identity token"):
        signer_for("keyless")
    with pytest.raises(SigningError, match="not usable"):
        signer_for("keyless", identity_token="not-a-jwt")


def test_write_bundle_is_atomic(tmp_path: Path) -> None:
    path = write_bundle(key_bundle(INTOTO_PAYLOAD_TYPE, b"{}", b"sig", "k"), tmp_path / "b.json")
    assert json.loads(path.read_text())["dsseEnvelope"]["signatures"][0]["keyid"] == "k"
    assert [p.name for p in tmp_path.iterdir()] == ["b.json"]


_SIGNER = EphemeralKeySigner()
_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _signed_statement() -> tuple[bytes, dict]:
    payload = json.dumps(
        {
            "_type": STATEMENT_TYPE,
            "predicateType": CHAOS_REPORT_PREDICATE,
            "predicate": {"verdict": "pass"},
            "subject": [{"name": "report.json", "digest": {"sha256": "a" * 64}}],
        }
    ).encode()
    return payload, _SIGNER.sign(INTOTO_PAYLOAD_TYPE, payload).to_dict()


@_SETTINGS
@given(where=st.sampled_from(["payload", "sig"]), pos=st.integers(0, 10_000), byte=st.integers(0, 255))
def test_any_single_byte_edit_of_payload_or_signature_is_detected(where: str, pos: int, byte: int) -> None:
    _, raw = _signed_statement()
    envelope = raw["dsseEnvelope"]
    field = envelope if where == "payload" else envelope["signatures"][0]
    data = bytearray(base64.b64decode(field[where]))
    pos %= len(data)
    if data[pos] == byte:
        byte ^= 0x01
    data[pos] = byte
    field[where] = base64.b64encode(bytes(data)).decode()
    with pytest.raises(SignatureError):
        verify_bundle(raw, key=_SIGNER.public_key)


@_SETTINGS
@given(pos=st.integers(0, 100_000), byte=st.integers(0, 255))
def test_any_single_byte_edit_of_the_bundle_text_is_detected(pos: int, byte: int) -> None:
    _, raw = _signed_statement()
    text = bytearray(json.dumps(raw, separators=(",", ":")).encode())
    pos %= len(text)
    if text[pos] == byte:
        byte ^= 0x01
    text[pos] = byte
    with pytest.raises(SignatureError):
        verify_bundle(bytes(text), key=_SIGNER.public_key)


@_SETTINGS
@given(pos=st.integers(0, 10_000), byte=st.integers(0, 255))
def test_any_single_byte_edit_of_a_report_file_is_detected(tmp_path_factory, pos: int, byte: int) -> None:
    report = _report(tmp_path_factory.mktemp("r"))
    sign_directory(report, {}, _SIGNER)
    statement = verify_bundle(report / BUNDLE_FILENAME, key=_SIGNER.public_key)
    target = report / "report.json"
    data = bytearray(target.read_bytes())
    pos %= len(data)
    if data[pos] == byte:
        byte ^= 0x01
    data[pos] = byte
    target.write_bytes(bytes(data))
    with pytest.raises(SubjectDigestMismatch, match="report.json"):
        verify_subjects(statement, report)
