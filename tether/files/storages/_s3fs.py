"""The s3fs filesystem that `S3Storage` uses: one layer of retries, bounded by settings.

Imported only when an `S3Storage` is built, so that s3fs stays optional.
"""

from __future__ import annotations

from typing import Any

from s3fs import S3FileSystem

__all__ = ["BoundedS3FileSystem"]


class BoundedS3FileSystem(S3FileSystem):
    """`S3FileSystem` whose own retry loop makes `retries` attempts.

    s3fs retries some errors itself (5 times by default) around botocore,
    which retries them again; tether lets botocore's standard retry mode do
    the retrying, so that a dead endpoint fails after a known number of
    attempts. Being a keyword of the constructor, `retries` survives pickling.

    Args:
        *args: passed to `S3FileSystem`.
        retries: attempts of s3fs's own retry loop; 1 leaves retries to botocore.
        **kwargs: passed to `S3FileSystem`.
    """

    def __init__(self, *args: Any, retries: int = 1, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retries = max(1, int(retries))
