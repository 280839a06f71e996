"""OPA bundles for fleets: build (and sign) the ``bundle.tar.gz`` real OPA servers load.

    built = build_opa_bundle(load_bundle("policies"), signing_key=key, key_id="govchaos")
    Path("bundle.tar.gz").write_bytes(built.tarball)     # opa run -s -b bundle.tar.gz

The tarball holds exactly what the engines load for decisions: the non-test ``.rego`` modules
(paths relative to the bundle root), one ``data.json`` at the root (the merged data documents),
and ``.manifest`` with ``revision`` = the govchaos bundle digest (the one reports carry) and
``roots`` = the first path segment of every package and data key (a bundle owns its roots). Test
modules and cases stay out: a fleet serves decisions, it does not run tests.

With a signing key, ``.signatures.json`` follows OPA's bundle-signing format: one compact JWS
(``alg`` ES256, ``typ`` JWT, ``kid``) whose payload is ``{"files": [{"name", "hash",
"algorithm": "SHA-256"}, ...]}`` over every other file. As in OPA, ``.manifest`` and ``data.json``
are hashed over their parsed JSON with object keys sorted and no whitespace (so formatting does
not matter), every other file over its bytes. OPA verifies it with a key configured as
``keys: {<kid>: {key: <PEM public key>, algorithm: ES256}}``. The build is reproducible: fixed
tar/gzip metadata and deterministic ECDSA (RFC 6979), so the same bundle and key give the same
bytes, and the ETag of ``govchaos policy serve`` only changes when the bundle does.

Raises :class:`OpaBundleError` (a :class:`~governance.errors.PolicyInputError`) for a bundle that
cannot be expressed as an OPA bundle, or a tarball that is not a well-formed one.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import re
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from governance.errors import Location, PolicyInputError

from governance.engine.bundle import PolicyBundle, RegoModule, build_bundle

MANIFEST = ".manifest"
SIGNATURES = ".signatures.json"
DATA = "data.json"
HASH_ALGORITHM = "SHA-256"
MAX_MEMBER_BYTES = 64 * 1024 * 1024
MAX_MEMBERS = 10_000

_PACKAGE = re.compile(r"^\s*package\s+([A-Za-z_][\w]*)", re.M)


class OpaBundleError(PolicyInputError):
    code = "opa_bundle_invalid"


@dataclass(frozen=True)
class OpaBundle:
    """A built bundle: its files (tar member name → bytes), the tarball, and its identity."""

    files: Mapping[str, bytes]
    tarball: bytes
    revision: str
    roots: tuple[str, ...]
    signed: bool = False
    etag: str = field(default="")

    @property
    def manifest(self) -> dict[str, Any]:
        return json.loads(self.files[MANIFEST])


def build_opa_bundle(
    bundle: PolicyBundle, *, signing_key: Any = None, key_id: str | None = None
) -> OpaBundle:
    """The OPA bundle for ``bundle``; signed when ``signing_key`` (ECDSA P-256) is given.

    Raises:
        OpaBundleError: a module has no package statement OPA can root, or two modules map to
            the same member name.
    """
    files: dict[str, bytes] = {}
    roots: set[str] = set()
    for module in bundle.decision_modules:
        name = member_name(module.path, bundle.root)
        if name in files or name in (MANIFEST, SIGNATURES, DATA):
            raise OpaBundleError(
                f"two files would be '{name}' in the OPA bundle", location=Location(module.path)
            )
        files[name] = module.source.encode("utf-8")
        roots.add(_package_root(module))
    roots.update(str(k) for k in bundle.data)
    files[DATA] = canonical_json(bundle.data)
    manifest = {"revision": bundle.digest, "roots": sorted(roots), "rego_version": 1}
    files[MANIFEST] = canonical_json(manifest)
    if signing_key is not None:
        files[SIGNATURES] = signatures_file(files, signing_key, key_id=key_id)
    tarball = _tarball(files)
    return OpaBundle(
        files=files,
        tarball=tarball,
        revision=bundle.digest,
        roots=tuple(sorted(roots)),
        signed=signing_key is not None,
        etag='"' + hashlib.sha256(tarball).hexdigest() + '"',
    )


def member_name(path: str, root: str) -> str:
    """A module's name inside the tarball: relative to the bundle root, never absolute or '..'."""
    p = PurePosixPath(path)
    r = PurePosixPath(root)
    try:
        rel = p.relative_to(r) if r.suffix != ".rego" else PurePosixPath(p.name)
    except ValueError:
        rel = p
    parts = [part for part in rel.parts if part not in ("", ".", "..", "/")]
    return "/".join(parts) or p.name


def _package_root(module: RegoModule) -> str:
    m = _PACKAGE.search(module.source)
    if not m:
        raise OpaBundleError(
            "no package statement (OPA bundle roots come from packages)", location=Location(module.path)
        )
    return m.group(1)


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8: the bytes written for JSON files in the bundle."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def file_hash(name: str, content: bytes) -> str:
    """Hex SHA-256 of a bundle file the way OPA's verifier computes it (``bundle/hash.go``)."""
    h = hashlib.sha256()
    if PurePosixPath(name).name in (DATA, "data.yaml", MANIFEST, "signatures.json"):
        h.update(_structured(json.loads(content)))
    else:
        h.update(content)
    return h.hexdigest()


def _structured(value: Any) -> bytes:
    # OPA walks the parsed document: objects as {"k":v,...} with keys sorted, arrays as [a,...],
    # primitives as Go's JSON encoder writes them (HTML not escaped; U+2028/U+2029 escaped).
    if isinstance(value, dict):
        items = (_primitive(k) + b":" + _structured(value[k]) for k in sorted(value))
        return b"{" + b",".join(items) + b"}"
    if isinstance(value, list):
        return b"[" + b",".join(_structured(v) for v in value) + b"]"
    return _primitive(value)


def _primitive(value: Any) -> bytes:
    text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").encode("utf-8")


def signatures_file(files: Mapping[str, bytes], signing_key: Any, *, key_id: str | None) -> bytes:
    """``.signatures.json``: ``{"signatures": [<JWT>]}`` over every file in ``files``."""
    listed = [
        {"name": name, "hash": file_hash(name, content), "algorithm": HASH_ALGORITHM}
        for name, content in sorted(files.items())
        if name != SIGNATURES
    ]
    token = _es256_jwt({"files": listed}, signing_key, key_id or default_key_id(signing_key))
    return json.dumps({"signatures": [token]}, indent=1).encode("utf-8")


def default_key_id(signing_key: Any) -> str:
    from governance.attest import key_id

    return key_id(signing_key.public_key())


def _es256_jwt(payload: Mapping[str, Any], signing_key: Any, kid: str) -> str:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    if not isinstance(signing_key, ec.EllipticCurvePrivateKey) or not isinstance(
        signing_key.curve, ec.SECP256R1
    ):
        raise OpaBundleError("bundle signing needs an ECDSA P-256 private key (ES256)")
    header = {"alg": "ES256", "kid": kid, "typ": "JWT"}
    signing_input = _b64(canonical_json(header)) + "." + _b64(canonical_json(payload))
    der = signing_key.sign(
        signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256(), deterministic_signing=True)
    )
    r, s = decode_dss_signature(der)
    return signing_input + "." + _b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _tarball(files: Mapping[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size = len(files[name])
            info.mode = 0o644
            info.mtime = 0
            tar.addfile(info, io.BytesIO(files[name]))
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, filename="") as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def read_opa_bundle(tarball: bytes, *, name: str = "bundle.tar.gz") -> dict[str, bytes]:
    """The regular files of a bundle tarball, by member name.

    Raises:
        OpaBundleError: not gzip/tar, a link/device/absolute or '..' member, a duplicate member,
            or a member or member count over the limits.
    """
    files: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(gzip.decompress(tarball)), mode="r:") as tar:
            for n, member in enumerate(tar):
                if n >= MAX_MEMBERS:
                    raise OpaBundleError(f"more than {MAX_MEMBERS} members", location=Location(name))
                if member.isdir():
                    continue
                where = Location(name, field=member.name)
                clean = member.name.lstrip("/")
                if not member.isfile() or ".." in PurePosixPath(clean).parts or not clean:
                    raise OpaBundleError("not a plain file inside the bundle", location=where)
                if member.size > MAX_MEMBER_BYTES:
                    raise OpaBundleError("member too large", location=where)
                if clean in files:
                    raise OpaBundleError("member appears twice", location=where)
                fh = tar.extractfile(member)
                files[clean] = fh.read() if fh is not None else b""
    except (OSError, EOFError, tarfile.TarError, gzip.BadGzipFile) as exc:
        raise OpaBundleError(f"not a gzipped tar bundle: {exc}", location=Location(name)) from exc
    return files


def policy_bundle_from_opa(files: Mapping[str, bytes], *, root: str = "opa-bundle") -> PolicyBundle:
    """A :class:`PolicyBundle` holding an OPA bundle's modules and data (to evaluate it here).

    Raises:
        OpaBundleError: ``data.json`` is not a JSON object, or a module is not UTF-8.
    """
    modules = []
    for name, content in files.items():
        if name.endswith(".rego"):
            try:
                modules.append(RegoModule(name, content.decode("utf-8")))
            except UnicodeDecodeError as exc:
                raise OpaBundleError("not UTF-8 text", location=Location(name)) from exc
    try:
        data = json.loads(files.get(DATA, b"{}"))
    except ValueError as exc:
        raise OpaBundleError(f"invalid JSON: {exc}", location=Location(DATA)) from exc
    if not isinstance(data, dict):
        raise OpaBundleError("data.json must hold an object", location=Location(DATA))
    return build_bundle(root, modules, data)
