"""What a bundle shows: its metadata, its data, and what can be done to a closed one.

`BundleView` is the read side of `tether.bundles.Bundle`. While a bundle is
open its metadata is a draft that `Bundle`'s `add_*` methods fill; once closed
it is the catalog's entry, and the data is loaded from storage (verified) the
first time `.data` is read. `get` and `search` return closed bundles, which
read nothing from storage until then.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tether.bundles.errors import BundleCorruptError, BundleError, BundleNotFoundError
from tether.bundles.store import BundleStore, label
from tether.catalog.bundle_records import BundleEntry, FileEntry, LineageRecord

__all__ = ["BundleView", "CLOSED", "NO_DATA"]

OPEN, CLOSED, ABANDONED = "open", "closed", "abandoned"
NO_DATA = object()


class BundleView:
    """The metadata and data of a bundle, and the operations on a closed one."""

    _store: BundleStore
    _context: str
    _uuid: str
    _state: str
    _entry: BundleEntry | None
    _draft: dict[str, Any]
    _data: Any

    @classmethod
    def _closed(cls, store: BundleStore, entry: BundleEntry) -> Any:
        """A closed bundle for a catalog entry (its data is loaded on first use)."""
        bundle = cls.__new__(cls)
        bundle._store = store
        bundle._context = entry.context
        bundle._state = CLOSED
        bundle._uuid = entry.uuid
        bundle._entry = entry
        bundle._draft = {}
        bundle._data = NO_DATA
        bundle._staging = None  # type: ignore[attr-defined]
        return bundle

    def _field(self, name: str) -> Any:
        return getattr(self._entry, name) if self._entry is not None else self._draft.get(name)

    def _check_closed(self) -> BundleEntry:
        if self._entry is None:
            raise BundleError(f"bundle {self._label()} is {self._state}; close it first")
        return self._entry

    def _label(self) -> str:
        return label(self._entry) if self._entry else f"{self._draft.get('name', '')!r} ({self._uuid})"

    # --- closed bundles --------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """Whether the bundle is closed (written and immutable)."""
        return self._state == CLOSED

    @property
    def data(self) -> Any:
        """The data: what was added while open; loaded (once) from storage when closed."""
        if self._state == CLOSED:
            if self._data is NO_DATA:
                entry = self._check_closed()
                try:
                    self._data = self._store.load(entry)
                except BundleCorruptError:
                    # A bundle pulled without its data: fetch it from the remote, once.
                    from tether.bundles.remote_api import localize_missing

                    if not localize_missing(self._store, entry):
                        raise
                    self._data = self._store.load(entry)
            return self._data
        return None if self._data is NO_DATA else self._data

    def cat(self) -> Any:
        """The bundle's data (loaded and verified on first use)."""
        self._check_closed()
        return self.data

    def commit(self) -> Any:
        """Commit the bundle (a flag beside it; the bundle itself is unchanged); returns self."""
        self._store.commit([self._check_closed()])
        return self

    def rm(self, force: bool = False) -> Any:
        """Remove this bundle (a committed one only with `force=True`); returns self.

        Raises:
            BundleError: the bundle is committed and `force` is False.
            BundleNotFoundError: it was removed already.
        """
        entry = self._check_closed()
        current = self._store.index.find(None, uuid=entry.uuid, details=False)
        if not current:
            raise BundleNotFoundError(f"bundle {self._label()} is not in the catalog; it was removed already")
        if current[0].committed and not force:
            raise BundleError(
                f"bundle {self._label()} is committed; pass force=True (`tether rm --force`) to remove it"
            )
        self._store.remove([entry])
        return self

    def push(self, delocalize: bool = False, *, commit: bool = False) -> Any:
        """Push this bundle to its context's remote (`push(uuid=bundle.uuid)`); returns self.

        Raises:
            BundleError: it is not committed (pass `commit=True`), or no remote is bound.
        """
        from tether.bundles.remote_api import push

        entry = self._check_closed()
        push(self._context, uuid=entry.uuid, delocalize=delocalize, commit=commit)
        if commit:
            entry.committed = True
        self._refresh()
        return self

    def pull(self, localize: bool = False) -> Any:
        """With `localize=True`, fetch this bundle's files from the remote now; returns self."""
        self._check_closed()
        if localize:
            self.localize()
        return self

    def localize(self, files: Any = None) -> Any:
        """Fetch this bundle's files (all, or those at these paths) from its remote; returns self.

        Raises:
            BundleError: no remote is bound, or a path is not a file of the bundle.
            BundleCorruptError: a file is missing on the remote or does not match its hash.
        """
        from tether.bundles.remote_api import localize

        localize(self._context, uuid=self._check_closed().uuid, files=files)
        self._refresh()
        return self

    def delocalize(self, files: Any = None) -> Any:
        """Free the local copies of this pushed bundle's files (all, or those at these paths); returns self.

        Raises:
            BundleError: no remote is bound, or the bundle is not on it.
        """
        from tether.bundles.remote_api import delocalize

        delocalize(self._context, uuid=self._check_closed().uuid, files=files)
        self._data = NO_DATA
        self._refresh()
        return self

    def _refresh(self) -> None:
        found = self._store.index.find(None, uuid=self._uuid)
        if found:
            self._entry = found[0]

    # --- metadata --------------------------------------------------------------------------

    @property
    def context(self) -> str:
        """The data context the bundle is in."""
        return self._context

    @property
    def uuid(self) -> str:
        """The bundle's id."""
        return self._uuid

    @property
    def name(self) -> str:
        """The human name."""
        return self._field("name") or ""

    @property
    def processing_name(self) -> str:
        """The processing name (set when the bundle closes unless given)."""
        return self._field("processing_name") or ""

    @property
    def owner(self) -> str:
        """Who made it."""
        return self._field("owner") or ""

    @property
    def creation_date(self) -> datetime | None:
        """When it was closed (aware, UTC); None while open."""
        return self._entry.created if self._entry is not None else None

    @property
    def tags(self) -> dict[str, str]:
        """The user tags (a copy); params are in `params`, never mixed in."""
        return dict(self._field("tags") or {})

    @property
    def user_tags(self) -> dict[str, str]:
        """The user tags (same as `tags`)."""
        return self.tags

    @property
    def params(self) -> dict[str, Any]:
        """The parameters (a copy)."""
        return dict(self._field("params") or {})

    @property
    def dependencies(self) -> dict[str, str]:
        """Argument name to the uuid of each upstream bundle."""
        return dict(self._field("dependencies") or {})

    @property
    def code_ref(self) -> str:
        """The code that made it."""
        return self._field("code_ref") or ""

    @property
    def git_info(self) -> tuple[str, str, str]:
        """`(repo, commit, branch)` of the code, empty strings if not recorded."""
        git = self._field("git") or {}
        return git.get("repo", ""), git.get("commit", ""), git.get("branch", "")

    @property
    def timing(self) -> tuple[float, float]:
        """`(start_time, stop_time)` in epoch seconds (0 if not recorded)."""
        timing = self._field("timing") or {}
        return timing.get("start", 0.0), timing.get("stop", 0.0)

    @property
    def committed(self) -> bool:
        """Whether the bundle was committed (as of when it was loaded or committed here)."""
        return bool(self._entry and self._entry.committed)

    @property
    def presentation(self) -> str:
        """What the data is, in a word (`DataFrame`, `dict`, `file`, ...), known without loading it."""
        return self._entry.presentation if self._entry else ""

    @property
    def files(self) -> list[FileEntry]:
        """The content-addressed files the closed bundle holds (data payloads included)."""
        return list(self._entry.files) if self._entry else []

    @property
    def lineage(self) -> LineageRecord:
        """This bundle's own lineage record (depth 0): what it was made from, by what code, when."""
        entry = self._check_closed()
        return LineageRecord(
            0, entry.uuid, entry.name, entry.processing_name, dict(entry.dependencies),
            entry.code_ref, entry.created, entry.context,
        )

    @property
    def remote_dir(self) -> str | None:
        """`<url>/contexts/<remote context>` of the remote bound to the bundle's context, or None."""
        context = self._store.index.get_context(self._context)
        if context is None or not context.remote_url:
            return None
        return f"{context.remote_url}/contexts/{context.remote_context}"

    @property
    def is_presentable(self) -> bool:
        """True: every tether bundle presents its data as Python values."""
        return True

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BundleView) and other._uuid == self._uuid

    def __hash__(self) -> int:
        return hash(self._uuid)

    def __repr__(self) -> str:
        return f"<Bundle {self.name!r} {self._uuid} in {self._context!r} ({self._state})>"
