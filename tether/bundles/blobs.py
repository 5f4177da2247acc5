"""Content-addressed file data: hashed with xxh3-128, stored once, verified on every read.

A blob lives at `bundles/blobs/<first 2 hex>/<other 30 hex>` in storage, written
through the storage's atomic writer straight to that address (never visible
half-written) and skipped when already there, however many bundles hold it.
Reading a blob hashes what was read and refuses data whose hash differs.
"""

from __future__ import annotations

import os
import uuid as uuid_module
from collections.abc import Callable
from typing import IO

import xxhash

from tether.bundles.errors import BundleCorruptError, BundleDataError
from tether.catalog.bundle_records import blob_path
from tether.files.storages import BaseStorage, StorageNotFoundError

__all__ = ["HASH_NAME", "BlobStore", "digest_bytes", "digest_file", "digest_stream"]

HASH_NAME = "xxh3_128"
CHUNK_SIZE = 1 << 20


def digest_bytes(data: bytes | bytearray | memoryview) -> str:
    """The content hash (xxh3-128, 32 hex digits) of `data`."""
    return xxhash.xxh3_128_hexdigest(data)


def digest_stream(stream: IO[bytes]) -> tuple[str, int]:
    """The content hash and size of what `stream` holds from its position to its end."""
    hasher = xxhash.xxh3_128()
    size = 0
    while chunk := stream.read(CHUNK_SIZE):
        hasher.update(chunk)
        size += len(chunk)
    return hasher.hexdigest(), size


def digest_file(path: str | os.PathLike[str]) -> tuple[str, int]:
    """The content hash and size of the local file `path`."""
    with open(path, "rb") as stream:
        return digest_stream(stream)


class BlobStore:
    """The blobs of one storage.

    Args:
        storage: where blobs live (paths relative to its root).
    """

    def __init__(self, storage: BaseStorage) -> None:
        self.storage = storage

    def path(self, digest: str) -> str:
        """The storage path of blob `digest`."""
        return blob_path(digest)

    def exists(self, digest: str) -> bool:
        """Whether blob `digest` is in storage."""
        return self.storage.isfile(blob_path(digest))

    def put_bytes(self, digest: str, data: bytes) -> None:
        """Store `data` as blob `digest` unless it is already there."""
        key = blob_path(digest)
        if not self.storage.isfile(key):
            self.storage.touch(key, data)

    def put_from(self, digest: str, opener: Callable[[], IO[bytes]], *, what: str = "file") -> None:
        """Store what `opener()` reads as blob `digest` unless it is already there.

        The content is hashed again as it is copied, and the write is discarded
        if it no longer matches `digest` (the file changed after it was hashed),
        so no blob ever holds content other than its address says.

        Raises:
            BundleDataError: the content changed since it was hashed.
        """
        key = blob_path(digest)
        if self.storage.isfile(key):
            return
        hasher = xxhash.xxh3_128()
        with opener() as source:
            writer = self.storage.open(key, "wb")
            try:
                while chunk := source.read(CHUNK_SIZE):
                    hasher.update(chunk)
                    writer.write(chunk)
                if hasher.hexdigest() != digest:
                    raise BundleDataError(
                        f"the {what} changed while the bundle was being written; finish writing it"
                        " before closing the bundle"
                    )
            except BaseException:
                writer.abort()  # type: ignore[attr-defined]
                raise
            finally:
                writer.close()

    def delete(self, digest: str) -> None:
        """Remove blob `digest`; a missing blob is fine."""
        self.storage.rm(blob_path(digest), missing_ok=True)

    def read(self, digest: str, *, bundle: str, what: str) -> bytes:
        """The content of blob `digest`, verified.

        Args:
            digest: the blob's hash.
            bundle: the bundle it is read for (`name (uuid)`), for messages.
            what: the file or data it holds, for messages.

        Raises:
            BundleCorruptError: the blob is missing or its content changed.
        """
        key = blob_path(digest)
        try:
            data = self.storage.read(key)
        except StorageNotFoundError:
            raise _missing(bundle, what, key) from None
        assert isinstance(data, bytes)
        if digest_bytes(data) != digest:
            raise _changed(bundle, what, key)
        return data

    def materialize(self, digest: str, dest: str, *, bundle: str, what: str) -> None:
        """Copy blob `digest` to the local file `dest`, verifying it on the way.

        A `dest` that already holds exactly this content is kept. The copy is
        written beside `dest` and moved into place only once it is verified.

        Raises:
            BundleCorruptError: the blob is missing or its content changed.
        """
        if os.path.isfile(dest):
            try:
                if digest_file(dest)[0] == digest:
                    return
            except OSError:
                pass
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        key = blob_path(digest)
        temp = f"{dest}.{uuid_module.uuid4().hex[:12]}.part"
        try:
            hasher = xxhash.xxh3_128()
            try:
                source = self.storage.open(key, "rb")
            except StorageNotFoundError:
                raise _missing(bundle, what, key) from None
            with source, open(temp, "wb") as target:
                while chunk := source.read(CHUNK_SIZE):
                    hasher.update(chunk)
                    target.write(chunk)
            if hasher.hexdigest() != digest:
                raise _changed(bundle, what, key)
            os.replace(temp, dest)
        except BaseException:
            try:
                os.unlink(temp)
            except FileNotFoundError:
                pass
            raise


def _missing(bundle: str, what: str, key: str) -> BundleCorruptError:
    return BundleCorruptError(
        f"bundle {bundle}: the {what} is missing from storage ({key}); the bundle cannot be"
        " read, remove it with tether.bundles.rm(..., uuid=...) or restore the blob"
    )


def _changed(bundle: str, what: str, key: str) -> BundleCorruptError:
    return BundleCorruptError(
        f"bundle {bundle}: the {what} changed in storage ({key} no longer matches its hash);"
        " the data is corrupt, restore the blob or remove the bundle"
    )
