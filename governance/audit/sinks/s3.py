"""Ship sealed segments to an S3-compatible object store through boto3 (extra ``s3``).

Each segment is uploaded with an S3 SHA-256 checksum (the store rejects a body that does not
match it), its manifest beside it, and then **read back** and hashed: the receipt is written
only when the stored object has the manifest's sha256. Credentials: the ones given (the gateway
resolves them from ``access_key_env`` / ``secret_key_env``), else boto3's default chain.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
from typing import Any

from governance.audit._records import utc_timestamp
from governance.audit.sinks._sink import SealedSegment, ShipReceipt


class S3Sink:
    def __init__(self, bucket: str, *, prefix: str = "", endpoint_url: str | None = None,
                 region: str = "us-east-1", access_key_id: str | None = None,
                 secret_access_key: str | None = None, name: str = "s3") -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.name = name
        self._options: dict[str, Any] = {"region_name": region}
        if endpoint_url:
            self._options["endpoint_url"] = endpoint_url
        if access_key_id and secret_access_key:
            self._options["aws_access_key_id"] = access_key_id
            self._options["aws_secret_access_key"] = secret_access_key
        self._client: Any = None

    def _s3(self) -> Any:
        if self._client is None:
            import boto3  # optional dependency: pip install 'govchaos[s3]'
            from botocore.config import Config

            self._client = boto3.client(
                "s3", config=Config(retries={"max_attempts": 3, "mode": "standard"},
                                    connect_timeout=5, read_timeout=30), **self._options)
        return self._client

    async def ship(self, segment: SealedSegment) -> ShipReceipt:
        """Raises :class:`SinkError` when the upload fails or the read-back does not verify."""
        try:
            return await asyncio.to_thread(self._ship, segment)
        except ImportError as exc:
            raise segment.fail(f"{self.name}: boto3 is not installed (pip install"
                               " 'govchaos[s3]')") from exc
        except Exception as exc:  # botocore's errors, translated at the boundary
            if getattr(exc, "code", None) == "audit_ship_failed":
                raise
            raise segment.fail(f"{self.name}: upload to s3://{self.bucket}/{self.prefix}"
                               f" failed: {exc}") from exc

    def _ship(self, segment: SealedSegment) -> ShipReceipt:
        s3 = self._s3()
        key = f"{self.prefix}{segment.manifest.file}"
        body = segment.path.read_bytes()
        checksum = base64.b64encode(bytes.fromhex(segment.manifest.sha256)).decode()
        s3.put_object(Bucket=self.bucket, Key=key, Body=body, ChecksumSHA256=checksum,
                      ContentType="application/octet-stream",
                      Metadata={"govchaos-sha256": segment.manifest.sha256})
        s3.put_object(Bucket=self.bucket, Key=f"{self.prefix}{segment.manifest_path.name}",
                      Body=segment.manifest_path.read_bytes(), ContentType="application/json")
        stored = s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        digest = hashlib.sha256(stored).hexdigest()
        if digest != segment.manifest.sha256:
            raise segment.fail(f"{self.name}: s3://{self.bucket}/{key} reads back with sha256"
                               f" {digest[:12]}…, not the manifest's {segment.manifest.sha256[:12]}…")
        return ShipReceipt(sink=self.name, location=f"s3://{self.bucket}/{key}", sha256=digest,
                           records=segment.manifest.records,
                           verified="sha256 of the object read back",
                           shipped_at=utc_timestamp(time.time()))
