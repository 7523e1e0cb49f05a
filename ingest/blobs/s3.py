"""Blobs as objects in S3-compatible storage (AWS S3, MinIO, Ceph), through boto3.

Credentials and region come from boto3's usual sources (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_DEFAULT_REGION``, profiles, instance roles); the
endpoint from ``OMNIROUTE_BLOB_ENDPOINT_URL`` or ``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ingest.blobs import BlobMissing, BlobUnavailable

_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}


class S3BlobStore:
    def __init__(self, bucket: str, prefix: str, *, endpoint_url: str | None = None) -> None:
        self.bucket = bucket
        self.prefix = f"{prefix}/" if prefix else ""
        self._endpoint = endpoint_url
        # boto3 clients are thread-safe; one per store, with bounded waits so a
        # worker thread never hangs on an unreachable endpoint.
        self._client: Any = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url,
            config=Config(
                connect_timeout=5, read_timeout=30, retries={"max_attempts": 3, "mode": "standard"}
            ),
        )

    @property
    def location(self) -> str:
        where = f" at {self._endpoint}" if self._endpoint else ""
        return f"s3://{self.bucket}/{self.prefix}{where}"

    @property
    def shared(self) -> bool:
        return True

    def put(self, key: str, data: bytes) -> None:
        try:
            self._client.put_object(Bucket=self.bucket, Key=self.prefix + key, Body=data)
        except (BotoCoreError, ClientError) as exc:
            raise BlobUnavailable(f"cannot write {key} to {self.location}: {exc}") from exc

    def get(self, key: str) -> bytes:
        try:
            answer = self._client.get_object(Bucket=self.bucket, Key=self.prefix + key)
            return bytes(answer["Body"].read())
        except ClientError as exc:
            if _code(exc) in _NOT_FOUND:
                raise BlobMissing(f"{key} is not in {self.location}") from None
            raise BlobUnavailable(f"cannot read {key} from {self.location}: {exc}") from exc
        except BotoCoreError as exc:
            raise BlobUnavailable(f"cannot read {key} from {self.location}: {exc}") from exc

    def exists(self, key: str) -> bool:
        try:
            self._client.head_object(Bucket=self.bucket, Key=self.prefix + key)
        except ClientError as exc:
            if _code(exc) in _NOT_FOUND:
                return False
            raise BlobUnavailable(f"cannot reach {self.location}: {exc}") from exc
        except BotoCoreError as exc:
            raise BlobUnavailable(f"cannot reach {self.location}: {exc}") from exc
        return True

    def keys(self, prefix: str) -> Iterator[str]:
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix + prefix
        )
        try:
            for page in pages:
                for item in page.get("Contents", []):
                    yield str(item["Key"])[len(self.prefix) :]
        except (BotoCoreError, ClientError) as exc:
            raise BlobUnavailable(f"cannot list {self.location}: {exc}") from exc


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
