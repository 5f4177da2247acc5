"""Fixtures for the object-store tests: each remote backend with its loopback server."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tether.files.storages._object import ObjectStorage
from tether.files.storages.google import GoogleStorage
from tether.files.storages.s3 import S3Storage
from tether.testing.servers import LocalServer


@dataclass
class Remote:
    """One object-store backend and the loopback server it talks to."""

    cls: type[ObjectStorage]
    server: LocalServer

    @property
    def scheme(self) -> str:
        return self.cls.protocols[0]

    def storage(self, bucket: str, prefix: str = "", **options: Any) -> ObjectStorage:
        """A storage at `bucket/prefix` on the server (or at the endpoint given in `options`)."""
        chosen = {**self.server.storage_options(), **options}  # type: ignore[attr-defined]
        return self.cls(f"{self.scheme}://{bucket}/{prefix}", **chosen)

    def new_bucket(self) -> str:
        return self.server.create_bucket()  # type: ignore[attr-defined]


@pytest.fixture(params=["s3", "gcs"])
def remote(request: pytest.FixtureRequest) -> Remote:
    """S3 on moto, then GCS on the emulator."""
    if request.param == "s3":
        return Remote(S3Storage, request.getfixturevalue("s3_server"))
    return Remote(GoogleStorage, request.getfixturevalue("gcs_server"))


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """A loopback address that accepts connections and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
