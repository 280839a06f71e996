"""DSSE envelopes: the pre-authentication encoding (PAE) that is actually signed.

>>> pae("application/vnd.in-toto+json", b"{}")
b'DSSEv1 28 application/vnd.in-toto+json 2 {}'

PAE(type, body) = ``"DSSEv1" SP len(type) SP type SP len(body) SP body`` with lengths in bytes,
as decimal ASCII. Signing the PAE rather than the payload binds the payload type to the
signature, so a payload cannot be replayed under another type.
"""

from __future__ import annotations

import base64

from sigstore_models.intoto import Envelope, Signature


def pae(payload_type: str, payload: bytes) -> bytes:
    kind = payload_type.encode("utf-8")
    return b" ".join(
        (b"DSSEv1", str(len(kind)).encode(), kind, str(len(payload)).encode(), payload)
    )


def envelope(payload_type: str, payload: bytes, signature: bytes, keyid: str | None) -> Envelope:
    """A DSSE envelope with one signature (``payload``/``sig`` are base64 in its JSON form)."""
    # The models take protobuf bytes in their JSON form (base64) and decode them on validation.
    sig_b64 = base64.b64encode(signature)
    sig = Signature(sig=sig_b64, keyid=keyid) if keyid else Signature(sig=sig_b64)
    return Envelope(
        payload=base64.b64encode(payload), payload_type=payload_type, signatures=[sig]
    )
