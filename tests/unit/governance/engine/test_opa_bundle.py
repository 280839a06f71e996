"""OPA bundles: exactly what the engines load, evaluated identically, signed per OPA's format.

The signature is checked with PyJWT (an independent JWT implementation) and the file hashes are
recomputed here from OPA's documented rule, not with the builder's own code.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, given, settings

from governance.attest import generate_keypair, load_private_key
from governance.engine import create_engine, load_bundle
from governance.engine.cases import load_case_files
from governance.engine.opa_bundle import (
    OpaBundleError,
    build_opa_bundle,
    file_hash,
    policy_bundle_from_opa,
    read_opa_bundle,
)
from governance.engine.protocol import canonical_input

from decision_inputs import raw_inputs

REPO = Path(__file__).resolve().parents[4]
SHIPPED = REPO / "policies"


@pytest.fixture(scope="module")
def shipped():
    return load_bundle(SHIPPED)


@pytest.fixture(scope="module")
def key(tmp_path_factory):
    pair = generate_keypair(tmp_path_factory.mktemp("keys"))
    return load_private_key(pair.private_key), pair.public_key.read_bytes()


def _members(tarball: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(tarball))) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}


def test_tarball_holds_exactly_what_the_engines_load(shipped) -> None:
    built = build_opa_bundle(shipped)
    members = _members(built.tarball)
    rego = {Path(m.path).name: m.source.encode() for m in shipped.decision_modules}
    assert set(members) == {".manifest", "data.json", *rego}
    assert all(members[name] == src for name, src in rego.items())
    assert not any(n.endswith("_test.rego") or n.startswith("cases") for n in members)
    assert json.loads(members["data.json"]) == shipped.data
    manifest = json.loads(members[".manifest"])
    assert manifest == {"revision": shipped.digest, "roots": ["govchaos"], "rego_version": 1}


def test_build_is_reproducible(shipped, key) -> None:
    assert build_opa_bundle(shipped).tarball == build_opa_bundle(shipped).tarball
    signed = [build_opa_bundle(shipped, signing_key=key[0], key_id="k").tarball for _ in range(2)]
    assert signed[0] == signed[1]


def test_opa_go_evaluates_the_unpacked_bundle_identically(shipped) -> None:
    unpacked = policy_bundle_from_opa(read_opa_bundle(build_opa_bundle(shipped).tarball))
    # Inline: this compares the engines' answers synchronously, not their isolation.
    original, from_tarball = create_engine("opa-go", shipped, cache=False, isolation="inline"), create_engine(
        "opa-go", unpacked, cache=False, isolation="inline")
    default = create_engine("regorus", shipped, cache=False, isolation="inline")
    cases = load_case_files(shipped.case_files, shipped.data)
    assert len(cases) > 60
    for case in cases:
        key = canonical_input(case.policy_input)
        assert from_tarball.decide_json(key) == original.decide_json(key) == default.decide_json(key), case.name

    @settings(max_examples=80, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(raw_inputs(shipped.data))
    def same(doc) -> None:
        key = canonical_input(doc)
        assert from_tarball.decide_json(key) == original.decide_json(key)

    same()


def _expected_hash(name: str, content: bytes) -> str:
    # OPA's rule (management-bundles docs): structured files hashed over their parsed JSON with
    # object keys sorted recursively; everything else over its bytes.
    if name in (".manifest", "data.json"):
        content = json.dumps(json.loads(content), sort_keys=True, separators=(",", ":"),
                             ensure_ascii=False).encode()
    return hashlib.sha256(content).hexdigest()


def test_signature_verifies_with_pyjwt_and_covers_every_file(shipped, key) -> None:
    private, public_pem = key
    members = _members(build_opa_bundle(shipped, signing_key=private, key_id="govchaos").tarball)
    signatures = json.loads(members[".signatures.json"])
    assert list(signatures) == ["signatures"] and len(signatures["signatures"]) == 1
    token = signatures["signatures"][0]
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "ES256", "kid": "govchaos", "typ": "JWT"}
    payload = jwt.decode(token, public_pem, algorithms=["ES256"])
    listed = {f["name"]: f for f in payload["files"]}
    assert set(listed) == set(members) - {".signatures.json"}
    for name, content in members.items():
        if name != ".signatures.json":
            assert listed[name]["algorithm"] == "SHA-256"
            assert listed[name]["hash"] == _expected_hash(name, content), name


def test_signature_fails_under_another_key_and_a_tampered_file_is_detected(shipped, key, tmp_path) -> None:
    private, _ = key
    other = generate_keypair(tmp_path).public_key.read_bytes()
    members = _members(build_opa_bundle(shipped, signing_key=private).tarball)
    token = json.loads(members[".signatures.json"])["signatures"][0]
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, other, algorithms=["ES256"])
    listed = {f["name"]: f["hash"] for f in jwt.decode(token, options={"verify_signature": False})["files"]}
    tampered = members["gateway.rego"] + b"\n# edited"
    assert _expected_hash("gateway.rego", tampered) != listed["gateway.rego"]


def test_default_kid_is_the_key_id(shipped, key) -> None:
    from governance.attest import key_id

    members = _members(build_opa_bundle(shipped, signing_key=key[0]).tarball)
    token = json.loads(members[".signatures.json"])["signatures"][0]
    assert jwt.get_unverified_header(token)["kid"] == key_id(key[0].public_key())


def test_structured_hash_follows_gos_json_encoder() -> None:
    # Go escapes U+2028/U+2029 and leaves <, >, & alone (SetEscapeHTML(false)); keys sorted.
    doc = {"b": "a\u2028<&>", "a": [1, 2.5, None, True]}
    expected = b'{"a":[1,2.5,null,true],"b":"a\\u2028<&>"}'
    assert file_hash("data.json", json.dumps(doc).encode()) == hashlib.sha256(expected).hexdigest()
    assert file_hash("x.rego", b"package x") == hashlib.sha256(b"package x").hexdigest()


def _tar(entries) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return gzip.compress(raw.getvalue())


@pytest.mark.parametrize("kind", ["dotdot", "symlink", "twice", "not-gzip"])
def test_unsafe_or_broken_tarballs_are_rejected(kind) -> None:
    if kind == "not-gzip":
        blob = b"plain text"
    else:
        good = tarfile.TarInfo("a.rego")
        good.size = 1
        entries = [(good, b"x")]
        if kind == "dotdot":
            bad = tarfile.TarInfo("../evil.rego")
            bad.size = 1
            entries.append((bad, b"x"))
        elif kind == "symlink":
            bad = tarfile.TarInfo("link.rego")
            bad.type, bad.linkname = tarfile.SYMTYPE, "/etc/passwd"
            entries.append((bad, None))
        else:
            entries.append((good, b"x"))
        blob = _tar(entries)
    with pytest.raises(OpaBundleError):
        read_opa_bundle(blob)


def test_module_without_package_cannot_be_rooted(tmp_path) -> None:
    (tmp_path / "a.rego").write_text("# nothing\n")
    from governance.engine.bundle import RegoModule, build_bundle

    bundle = build_bundle(str(tmp_path), [RegoModule(str(tmp_path / "a.rego"), "# nothing\n")], {})
    with pytest.raises(OpaBundleError, match="no package"):
        build_opa_bundle(bundle)
