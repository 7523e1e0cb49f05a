"""A local S3-compatible server (moto in server mode) on a loopback port, driven by boto3.

``s3_server`` starts one per test session; ``s3_bucket`` gives each test a bucket of
its own and the environment boto3 reads its credentials and region from.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest
from moto.server import ThreadedMotoServer

from tests.integration.support import free_port

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "omniroute-test",
    "AWS_SECRET_ACCESS_KEY": "omniroute-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass(frozen=True)
class S3Bucket:
    endpoint: str
    name: str

    def url(self, prefix: str = "blobs") -> str:
        return f"s3://{self.name}/{prefix}"

    def objects(self, prefix: str = "") -> dict[str, bytes]:
        client = boto3.client("s3", endpoint_url=self.endpoint)
        listed = client.list_objects_v2(Bucket=self.name, Prefix=prefix).get("Contents", [])
        return {
            item["Key"]: client.get_object(Bucket=self.name, Key=item["Key"])["Body"].read()
            for item in listed
        }


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_bucket(s3_server: str, monkeypatch: pytest.MonkeyPatch) -> S3Bucket:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    # Nothing from the developer's own AWS set-up may leak in.
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    bucket = S3Bucket(s3_server, f"omniroute-{uuid.uuid4().hex[:10]}")
    boto3.client("s3", endpoint_url=s3_server).create_bucket(Bucket=bucket.name)
    return bucket
