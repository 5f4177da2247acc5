"""What the catalog stores about data bundles, and where their manifests sit in storage.

A bundle's manifest is the record; the catalog is an index of the fields below
and can be rebuilt from the manifests. The manifest also holds the bundle's data
presentation, which only `tether.bundles` reads; the catalog keeps a one-word
summary of it. A manifest is either a file of its own,
`bundles/contexts/<context>/bundles/<name>/<uuid>.json`, or one line of a
segment, `bundles/contexts/<context>/segments/<id>.jsonl`, which one process
appends to (on storage with local files); the catalog's `manifest_path` is then
`<segment path>#<offset>+<length>`. Either way the bundle's markers (committed,
remote, removed) sit beside where its own manifest file is or would be.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from tether.catalog.errors import CatalogError
from tether.catalog.records import normalize_timestamp

__all__ = [
    "BUNDLES_DIR",
    "BLOBS_DIR",
    "CONTEXTS_DIR",
    "MANIFEST_FORMAT",
    "BundleEntry",
    "ContextEntry",
    "FileEntry",
    "LineageRecord",
    "blob_path",
    "commit_marker_path",
    "context_dir",
    "context_marker_path",
    "manifest_path",
    "marked_homes",
    "marker_path",
    "parse_manifest_path",
    "parse_removed",
    "parse_segment_path",
    "remote_marker_path",
    "removed_marker_path",
    "segment_lines",
    "segment_ref",
    "split_segment_ref",
    "validate_context_name",
]

BUNDLES_DIR = "bundles"
BLOBS_DIR = f"{BUNDLES_DIR}/blobs"
CONTEXTS_DIR = f"{BUNDLES_DIR}/contexts"
CONTEXT_FILE = "context.json"
MANIFEST_SUFFIX = ".json"
COMMIT_SUFFIX = ".committed"
REMOTE_SUFFIX = ".remote"
REMOVED_SUFFIX = ".removed"
SEGMENTS_FOLDER = "segments"
SEGMENT_SUFFIX = ".jsonl"
MANIFEST_FORMAT = 1

_CONTEXT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}", re.ASCII)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.ASCII)


def validate_context_name(name: str) -> str:
    """Return `name` if it can name a data context, else raise.

    Raises:
        CatalogError: `name` is not 1-100 letters, digits, `_`, `.` or `-`
            starting with a letter or digit.
    """
    if not isinstance(name, str) or not _CONTEXT_NAME.fullmatch(name):
        raise CatalogError(
            f"{name!r} cannot name a data context: use 1-100 letters, digits, '_', '.' or '-',"
            " starting with a letter or digit (e.g. 'analysis-2024')"
        )
    return name


_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")
_MAX_FOLDER = 120


def _name_folder(name: str) -> str:
    """A bundle name as one path part, readable where it can be and never special.

    Letters, digits, `_`, `-` and `.` stay (a leading `.` is encoded, so `..`
    and hidden names cannot occur); any other character is percent-encoded as
    UTF-8. A long name is cut and given a hash, since the manifest, not its
    path, is what records the name.
    """
    parts = []
    for index, char in enumerate(name):
        if char in _PLAIN and not (index == 0 and char == "."):
            parts.append(char)
        else:
            parts.extend(f"%{byte:02X}" for byte in char.encode("utf-8"))
    folder = "".join(parts) or "%"
    if len(folder) > _MAX_FOLDER:
        digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8).hexdigest()
        folder = f"{folder[:_MAX_FOLDER - 17]}~{digest}"
    return folder


def context_dir(context: str) -> str:
    """The storage folder of data context `context`."""
    return f"{CONTEXTS_DIR}/{context}"


def context_marker_path(context: str) -> str:
    """The file in storage that records that data context `context` exists."""
    return f"{CONTEXTS_DIR}/{context}/{CONTEXT_FILE}"


def manifest_path(context: str, name: str, uuid: str) -> str:
    """The storage path of the manifest of bundle `uuid` named `name` in `context`."""
    return f"{CONTEXTS_DIR}/{context}/bundles/{_name_folder(name)}/{uuid}{MANIFEST_SUFFIX}"


def marker_path(home: str, suffix: str) -> str:
    """The marker with `suffix` beside a bundle's own manifest path `home` (`BundleEntry.home`)."""
    return home[: -len(MANIFEST_SUFFIX)] + suffix


def marked_homes(paths: Iterable[str], suffix: str) -> set[str]:
    """The own manifest paths (`BundleEntry.home`) of the bundles with a `suffix` marker among `paths`."""
    return {path[: -len(suffix)] + MANIFEST_SUFFIX for path in paths if path.endswith(suffix)}


def commit_marker_path(home: str) -> str:
    """The commit flag of the bundle whose own manifest path is `home`."""
    return marker_path(home, COMMIT_SUFFIX)


def remote_marker_path(home: str) -> str:
    """The marker saying some of the bundle's files are only on its remote."""
    return marker_path(home, REMOTE_SUFFIX)


def removed_marker_path(home: str) -> str:
    """The marker that lists the removed segment lines of the bundle."""
    return marker_path(home, REMOVED_SUFFIX)


def parse_manifest_path(path: str) -> tuple[str, str] | None:
    """`(context, uuid)` of a manifest path, or None if `path` is not one."""
    parts = path.split("/")
    if (
        len(parts) != 6
        or f"{parts[0]}/{parts[1]}" != CONTEXTS_DIR
        or parts[3] != "bundles"
        or not parts[5].endswith(MANIFEST_SUFFIX)
    ):
        return None
    uuid = parts[5][: -len(MANIFEST_SUFFIX)]
    if not _UUID.fullmatch(uuid):
        return None
    return parts[2], uuid


def segment_ref(path: str, offset: int, length: int) -> str:
    """The `manifest_path` of a manifest that is the line at `offset` (`length` bytes) of segment `path`."""
    return f"{path}#{offset}+{length}"


def split_segment_ref(ref: str) -> tuple[str, int, int] | None:
    """`(segment path, offset, length)` of a segment reference, or None for a manifest file's path."""
    path, hash_sign, span = ref.rpartition("#")
    if not hash_sign or not path.endswith(SEGMENT_SUFFIX):
        return None
    offset, plus, length = span.partition("+")
    if not plus or not offset.isdigit() or not length.isdigit():
        return None
    return path, int(offset), int(length)


def segment_lines(data: bytes) -> Iterator[tuple[int, bytes]]:
    """`(offset, line)` of each complete line of a segment's content (a torn last line is left out)."""
    offset = 0
    while (end := data.find(b"\n", offset)) >= 0:
        if end > offset:
            yield offset, data[offset:end]
        offset = end + 1


def parse_removed(data: bytes | str) -> list[str]:
    """The segment references a `<uuid>.removed` marker lists (none if it is not a JSON list)."""
    try:
        listed = json.loads(data)
    except ValueError:
        return []
    return [str(ref) for ref in listed] if isinstance(listed, list) else []


def parse_segment_path(path: str) -> str | None:
    """The context of a segment path (`bundles/contexts/<context>/segments/<id>.jsonl`), or None."""
    parts = path.split("/")
    if (
        len(parts) != 5
        or f"{parts[0]}/{parts[1]}" != CONTEXTS_DIR
        or parts[3] != SEGMENTS_FOLDER
        or not parts[4].endswith(SEGMENT_SUFFIX)
    ):
        return None
    return parts[2]


def blob_path(digest: str) -> str:
    """The storage path of the content-addressed blob with hex digest `digest`."""
    return f"{BLOBS_DIR}/{digest[:2]}/{digest[2:]}"


class FileEntry(NamedTuple):
    """One file of a bundle: its path inside the bundle, its content hash and size."""

    path: str
    hash: str
    size: int


@dataclass
class ContextEntry:
    """A data context: a named namespace of bundles.

    Attributes:
        name: the context's name.
        created_at: ISO 8601 UTC time it was created.
        remote_url: the URL of the remote bound to it, or None.
        remote_context: the context on that remote it is bound to, or None.
    """

    name: str
    created_at: str
    remote_url: str | None = None
    remote_context: str | None = None


def _dump(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"), sort_keys=True)


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text)


@dataclass
class BundleEntry:
    """A closed bundle as the catalog indexes it.

    Attributes:
        uuid: the bundle's id (a UUID4 string).
        context: the data context it belongs to.
        name: its human name (matched exactly).
        processing_name: names the way it was made (code, params, inputs).
        owner: who made it.
        created_at: ISO 8601 UTC time it was closed, microseconds included.
        committed: whether it is committed (a flag beside it, not part of it).
        code_ref: the code that made it (`package.module.function`).
        git: `{"repo", "commit", "branch"}` of the code, or None.
        timing: `{"start", "stop"}` epoch seconds of the work, or None.
        presentation: a one-word summary of its data (`DataFrame`, `dict`, `file`, ...).
        manifest_path: where its manifest sits in storage.
        tags: user tags, str to str.
        params: parameters, str to JSON values.
        dependencies: argument name to the uuid of the upstream bundle.
        files: the content-addressed files it holds.
    """

    uuid: str
    context: str
    name: str
    created_at: str
    processing_name: str = ""
    owner: str = ""
    committed: bool = False
    code_ref: str = ""
    git: dict[str, Any] | None = None
    timing: dict[str, Any] | None = None
    presentation: str = ""
    manifest_path: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    dependencies: dict[str, str] = field(default_factory=dict)
    files: list[FileEntry] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.created_at = normalize_timestamp(self.created_at) or ""

    @property
    def created(self) -> datetime:
        """`created_at` as an aware UTC datetime."""
        return datetime.fromisoformat(self.created_at)

    def row(self) -> tuple[Any, ...]:
        """The values of the `bundles` row, in `BUNDLE_COLUMNS` order."""
        return (
            self.uuid, self.context, self.name, self.processing_name, self.owner,
            self.created_at, int(self.committed), 1, self.code_ref, _dump(self.git),
            _dump(self.timing), self.presentation, self.manifest_path,
        )

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> BundleEntry:
        """An entry from a `bundles` row in `BUNDLE_COLUMNS` order (tags and the rest empty)."""
        return cls(
            uuid=row[0], context=row[1], name=row[2], processing_name=row[3] or "",
            owner=row[4] or "", created_at=row[5], committed=bool(row[6]),
            code_ref=row[8] or "", git=_load(row[9]), timing=_load(row[10]),
            presentation=row[11] or "", manifest_path=row[12] or "",
        )

    @property
    def home(self) -> str:
        """The path of the bundle's own manifest file: where it is, or would be if it is in a segment.

        Its markers sit beside it (`commit_marker_path(entry.home)`).
        """
        return manifest_path(self.context, self.name, self.uuid)

    def manifest_fields(self) -> dict[str, Any]:
        """The catalog's fields as the manifest holds them (without `committed`, kept beside it)."""
        return {
            "format": MANIFEST_FORMAT,
            "uuid": self.uuid,
            "context": self.context,
            "name": self.name,
            "processing_name": self.processing_name,
            "owner": self.owner,
            "created_at": self.created_at,
            "code_ref": self.code_ref,
            "git": self.git,
            "timing": self.timing,
            "presentation": self.presentation,
            "tags": self.tags,
            "params": self.params,
            "dependencies": self.dependencies,
            "files": [list(entry) for entry in self.files],
        }

    @classmethod
    def from_manifest(
        cls, data: Mapping[str, Any], *, manifest_path: str = "", committed: bool = False
    ) -> BundleEntry:
        """The entry a manifest describes.

        Raises:
            CatalogError: the manifest is not a tether bundle manifest.
        """
        if not isinstance(data, Mapping) or not data.get("uuid") or not data.get("created_at"):
            raise CatalogError("not a bundle manifest: it has no uuid or created_at")
        version = data.get("format")
        if not isinstance(version, int) or version > MANIFEST_FORMAT:
            raise CatalogError(
                f"bundle manifest format {version!r} is unknown to this tether (it knows"
                f" {MANIFEST_FORMAT}); upgrade tether"
            )
        try:
            files = [FileEntry(str(path), str(digest), int(size)) for path, digest, size in data.get("files") or ()]
        except (TypeError, ValueError) as exc:
            raise CatalogError(f"bundle manifest has malformed files: {exc}") from exc
        return cls(
            uuid=str(data["uuid"]),
            context=str(data.get("context") or ""),
            name=str(data.get("name") or ""),
            created_at=str(data["created_at"]),
            processing_name=str(data.get("processing_name") or ""),
            owner=str(data.get("owner") or ""),
            committed=committed,
            code_ref=str(data.get("code_ref") or ""),
            git=data.get("git"),
            timing=data.get("timing"),
            presentation=str(data.get("presentation") or ""),
            manifest_path=manifest_path,
            tags={str(k): str(v) for k, v in (data.get("tags") or {}).items()},
            params=dict(data.get("params") or {}),
            dependencies={str(k): str(v) for k, v in (data.get("dependencies") or {}).items()},
            files=files,
        )


BUNDLE_COLUMNS = (
    "uuid, context, name, processing_name, owner, created_at, committed, closed,"
    " code_ref, git, timing, presentation, manifest_path"
)


@dataclass
class LineageRecord:
    """One bundle in a lineage walk.

    Attributes:
        depth: steps from the bundle the walk started at (0 is that bundle).
        uuid: the bundle's uuid.
        name: its name; None if the catalog does not hold it (removed, or on a remote).
        processing_name: its processing name, or None.
        depends_on: argument name to upstream uuid.
        code_method: the code that made it (`code_ref`), or None.
        creation_date: when it was closed (aware UTC), or None.
        context: its data context, or None.
    """

    depth: int
    uuid: str
    name: str | None = None
    processing_name: str | None = None
    depends_on: dict[str, str] = field(default_factory=dict)
    code_method: str | None = None
    creation_date: datetime | None = None
    context: str | None = None

    @property
    def found(self) -> bool:
        """Whether the catalog holds this bundle."""
        return self.name is not None
