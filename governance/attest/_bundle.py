"""Sigstore bundle v0.3 holding a DSSE envelope: build, write, read strictly.

Key mode (an organisation key or an ephemeral one)::

    {"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
     "verificationMaterial": {"publicKey": {"hint": "<sha256 of DER public key>"},
                              "tlogEntries": []},
     "dsseEnvelope": {"payload": "<base64 Statement>",
                      "payloadType": "application/vnd.in-toto+json",
                      "signatures": [{"sig": "<base64 DER ECDSA>", "keyid": "<same hint>"}]}}

Keyless mode carries ``verificationMaterial.certificate`` and ``tlogEntries`` instead, as
produced by sigstore-python. Field names follow sigstore's protobuf-specs (the
``sigstore_models`` package parses and serializes them).

Reading is stricter than the models: base64 must be canonical (the models' decoder skips
characters outside the alphabet, which would let an edited byte go unnoticed), there must be
exactly one signature, and the media type must be v0.3.
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError
from sigstore_models.bundle.v1 import Bundle, VerificationMaterial
from sigstore_models.common.v1 import PublicKeyIdentifier

from governance.attest._dsse import envelope
from governance.attest._errors import BundleFormatError
from governance.errors import Location

BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
_V03_MEDIA_TYPES = (BUNDLE_MEDIA_TYPE, "application/vnd.dev.sigstore.bundle+json;version=0.3")


class ParsedBundle(BaseModel):
    """What verification needs from a bundle, decoded and checked for shape (not trusted yet)."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    bundle: Bundle
    payload_type: str
    payload: bytes
    signature: bytes
    keyid: str | None
    key_hint: str | None  # verificationMaterial.publicKey.hint; None in keyless mode
    keyless: bool


def key_bundle(payload_type: str, payload: bytes, signature: bytes, key_hint: str) -> Bundle:
    """A v0.3 bundle for a signature made with a key identified by ``key_hint``."""
    return Bundle(
        media_type=BUNDLE_MEDIA_TYPE,
        verification_material=VerificationMaterial(
            public_key=PublicKeyIdentifier(hint=key_hint), tlog_entries=[]
        ),
        dsse_envelope=envelope(payload_type, payload, signature, key_hint),
    )


def bundle_json(bundle: Bundle) -> bytes:
    return orjson.dumps(bundle.to_dict(), option=orjson.OPT_INDENT_2) + b"\n"


def write_bundle(bundle: Bundle, path: str | os.PathLike[str]) -> Path:
    """Write ``bundle`` as JSON to ``path`` (atomically: temp file, fsync, rename).

    Raises ``OSError`` when it cannot be written; the temporary file is removed first (a stray
    file in a report directory would make it fail verification as "unsigned file present").
    """
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    data = bundle_json(bundle)
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    return target


def parse_bundle(source: str | os.PathLike[str] | bytes | dict[str, Any] | Bundle) -> ParsedBundle:
    """Read a bundle from a path, JSON bytes, a dict or a model; check its shape.

    Raises :class:`BundleFormatError` naming the file and the JSON field that is wrong.
    """
    label: str | None = None
    if isinstance(source, Bundle):
        raw: Any = source.to_dict()
    elif isinstance(source, dict):
        raw = source
    else:
        if isinstance(source, bytes):
            data = source
        else:
            label = str(source)
            try:
                data = Path(source).read_bytes()
            except OSError as exc:
                raise BundleFormatError(
                    f"cannot read bundle: {exc.strerror or exc}", location=Location(label)
                ) from exc
        try:
            raw = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise BundleFormatError(
                f"bundle is not valid JSON: {exc}", location=Location(label)
            ) from exc

    def fail(message: str, field: str | None = None) -> BundleFormatError:
        return BundleFormatError(message, location=Location(label, field=field))

    if not isinstance(raw, dict):
        raise fail("bundle is not a JSON object")
    try:
        bundle = Bundle.from_dict(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or None
        raise fail(f"not a Sigstore bundle: {first['msg']}", field) from exc
    if bundle.media_type not in _V03_MEDIA_TYPES:
        raise fail(f"unsupported bundle media type {bundle.media_type!r}; expected v0.3", "mediaType")
    env = raw.get("dsseEnvelope")
    if bundle.dsse_envelope is None or not isinstance(env, dict):
        raise fail("the bundle holds no DSSE envelope", "dsseEnvelope")
    signatures = env.get("signatures")
    if not isinstance(signatures, list) or len(signatures) != 1:
        count = len(signatures) if isinstance(signatures, list) else 0
        raise fail(f"expected exactly one signature, found {count}", "dsseEnvelope.signatures")
    payload = _strict_b64(env.get("payload"), fail, "dsseEnvelope.payload")
    signature = _strict_b64(signatures[0].get("sig"), fail, "dsseEnvelope.signatures.0.sig")
    material = bundle.verification_material
    hint = material.public_key.hint if material.public_key is not None else None
    return ParsedBundle(
        bundle=bundle,
        payload_type=bundle.dsse_envelope.payload_type,
        payload=payload,
        signature=signature,
        keyid=signatures[0].get("keyid") or None,
        key_hint=hint,
        keyless=material.public_key is None,
    )


def _strict_b64(value: object, fail: Any, field: str) -> bytes:
    if not isinstance(value, str):
        raise fail("expected a base64 string", field)
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise fail(f"invalid base64: {exc}", field) from exc
    if base64.b64encode(decoded).decode("ascii") != value:
        raise fail("base64 is not canonical (altered)", field)
    return decoded
