"""`Bundle`: versioned, tagged, immutable data with lineage.

A new Bundle is open: add data, tags, params, dependencies and files, then
close it, which writes it and makes it immutable. `Bundle(ctx, name=..., data=...)`
creates and closes one in a single call; `with Bundle(ctx, name=...) as b:`
closes it at the end of the block, and writes nothing if the block raises.
Bundles returned by `get` and `search` are closed, and load their data only
when `.data` is first read.
"""

from __future__ import annotations

import functools
import getpass
import json
import os
import shutil
import uuid as uuid_module
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import xxhash

from tether.bundles.contexts import resolve_context
from tether.bundles.encoding import Encoder, summary
from tether.bundles.errors import BundleClosedError, BundleError, NotAvailableError
from tether.bundles.files import Staging
from tether.bundles.store import current_store
from tether.bundles.view import ABANDONED, CLOSED, NO_DATA, OPEN, BundleView
from tether.catalog.bundle_records import BundleEntry

__all__ = ["Bundle"]


@functools.cache
def _owner() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "")


def _short_hash(value: Any) -> str:
    if not value and isinstance(value, dict):
        return _EMPTY_HASH
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return xxhash.xxh3_64_hexdigest(text.encode("utf-8"))[:10]


_EMPTY_HASH = xxhash.xxh3_64_hexdigest(b"{}")[:10]  # most bundles have no params or inputs


def _epoch(value: float | datetime | None, argument: str) -> float:
    if value is None:
        return 0.0
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.astimezone()).timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise BundleError(f"{argument} is a time: epoch seconds or a datetime, not {type(value).__name__}")


def _check_tags(tags: Mapping[str, str]) -> dict[str, str]:
    if not isinstance(tags, Mapping):
        raise BundleError(f"tags are a dict of str to str, not a {type(tags).__name__}")
    for key, value in tags.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise BundleError(
                f"tag {key!r}: {value!r} is not str to str; tags are text and matched exactly,"
                f" so convert the value first, e.g. {{{str(key)!r}: {str(value)!r}}}"
            )
    return dict(tags)


def _check_params(params: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(params, Mapping):
        raise BundleError(f"params are a dict of str to JSON values, not a {type(params).__name__}")
    for key, value in params.items():
        if not isinstance(key, str):
            raise BundleError(f"param name {key!r} is not a str; name params with text")
        try:
            if json.loads(json.dumps(value, allow_nan=False)) != value:
                raise ValueError("it does not read back equal")
        except (TypeError, ValueError) as exc:
            raise BundleError(
                f"param {key!r} is a {type(value).__name__}, which is not a JSON value ({exc});"
                " give str, int, float, bool, None, or lists and dicts of them"
            ) from None
    return dict(params)


class Bundle(BundleView):
    """A named, versioned piece of data in a data context.

    Args:
        local_context: the data context (None: the current one).
        name: the bundle's human name (default: the last part of `code_method`).
        data: its data; if given (not None) the bundle is closed at once.
        processing_name: names the way it was made (default: derived from the
            code reference, the params and the inputs' processing names).
        owner: who made it (default: the user running the process).
        tags: user tags, str to str.
        params: parameters of the code that made it, str to JSON values.
        dependencies: argument name to the upstream Bundle (or its uuid).
        code_method: the code that made it, e.g. `package.module.function`.
        vc_info: `(repo, commit, branch)` of that code.
        start_time: when the work started (epoch seconds or a datetime).
        stop_time: when it ended.

    Raises:
        ContextNotFoundError: the data context does not exist.
    """

    def __init__(
        self,
        local_context: str | None = None,
        name: str | None = None,
        data: Any = None,
        processing_name: str | None = None,
        owner: str | None = None,
        tags: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        dependencies: Mapping[str, Bundle | str] | None = None,
        code_method: str | None = None,
        vc_info: tuple[str, str, str] | None = None,
        start_time: float | datetime = 0,
        stop_time: float | datetime = 0,
    ) -> None:
        self._store = current_store()
        self._context = resolve_context(local_context)
        self._state = OPEN
        self._uuid = str(uuid_module.uuid4())
        self._entry = None
        self._data = NO_DATA
        self._staging: Staging | None = Staging(self._store.base_dir)
        self._draft = {
            "name": name or "",
            "processing_name": processing_name or "",
            "owner": _owner() if owner is None else owner,
            "tags": {},
            "params": {},
            "dependencies": {},
            "code_ref": "",
            "git": None,
            "timing": None,
        }
        self._upstream_names: dict[str, str] = {}
        if tags:
            self.add_tags(tags)
        if params:
            self.add_params(params)
        if dependencies:
            self.add_dependencies(list(dependencies.values()), list(dependencies.keys()))
        if code_method:
            self.add_code_ref(code_method)
        if vc_info is not None:
            self.add_git_info(*vc_info)
        if start_time or stop_time:
            self.add_timing(start_time, stop_time)
        if data is not None:
            self.add_data(data)
            self.close()

    # --- state -----------------------------------------------------------------------------

    def _check_open(self) -> dict[str, Any]:
        if self._state != OPEN:
            raise BundleClosedError(f"bundle {self._label()} is {self._state} and cannot change; make a new Bundle")
        return self._draft

    def open(self, force_uuid: str | None = None) -> Bundle:
        """Open the bundle for editing (a new bundle is open already); returns self.

        Args:
            force_uuid: give the bundle this uuid instead of a new one.

        Raises:
            BundleClosedError: the bundle is closed or abandoned.
        """
        self._check_open()
        if force_uuid is not None:
            try:
                self._uuid = str(uuid_module.UUID(str(force_uuid)))
            except ValueError:
                raise BundleError(f"force_uuid {force_uuid!r} is not a UUID") from None
        return self

    def close(self) -> Bundle:
        """Write the bundle and make it immutable; returns self.

        If writing fails, nothing is visible and the bundle stays open.

        Raises:
            BundleError: no name, data that cannot be stored exactly, or storage
                or the catalog failed.
        """
        draft = self._check_open()
        name = draft["name"] or draft["code_ref"].rsplit(".", 1)[-1]
        if not name:
            raise BundleError(f"bundle {self._uuid} has no name; give Bundle(..., name=...) or a code_method")
        store = self._store
        encoder = Encoder(allow_pickle=store.allow_pickle, staging=self._staging)
        node = encoder.encode(None if self._data is NO_DATA else self._data)
        store.require_context(self._context, create_default=True)
        entry = BundleEntry(
            uuid=self._uuid,
            context=self._context,
            name=name,
            created_at=datetime.now(timezone.utc).isoformat(),
            processing_name=draft["processing_name"] or self._default_processing_name(name),
            owner=draft["owner"],
            code_ref=draft["code_ref"],
            git=draft["git"],
            timing=draft["timing"],
            presentation=summary(node),
            tags=dict(draft["tags"]),
            params=dict(draft["params"]),
            dependencies=dict(draft["dependencies"]),
        )
        store.persist(entry, node, encoder.payloads, encoder.files)
        self._entry = entry
        self._state = CLOSED
        self._data = NO_DATA
        if self._staging is not None:
            self._staging.remove()
        return self

    def abandon(self) -> None:
        """Drop an open bundle and its staged files; nothing is written.

        Raises:
            BundleClosedError: the bundle is already closed.
        """
        if self._state == CLOSED:
            raise BundleClosedError(f"bundle {self._label()} is closed; use rm() to remove it")
        if self._staging is not None:
            self._staging.remove()
        self._state = ABANDONED
        self._data = NO_DATA

    def __enter__(self) -> Bundle:
        return self.open()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            if self._state == OPEN:
                self.abandon()
            return
        try:
            self.close()
        except BaseException:
            if self._state == OPEN:
                self.abandon()
            raise

    def _default_processing_name(self, name: str) -> str:
        draft = self._draft
        upstream: dict[str, str] = {}
        for arg, uuid in draft["dependencies"].items():
            known = self._upstream_names.get(arg)
            if known is None:
                found = self._store.index.find(None, uuid=uuid, details=False)
                known = found[0].processing_name if found else uuid
            upstream[arg] = known
        return f"{draft['code_ref'] or name}_{_short_hash(draft['params'])}_{_short_hash(upstream)}"

    # --- building --------------------------------------------------------------------------

    @BundleView.name.setter  # type: ignore[attr-defined]
    def name(self, name: str) -> None:
        self._check_open()["name"] = name

    @BundleView.processing_name.setter  # type: ignore[attr-defined]
    def processing_name(self, processing_name: str) -> None:
        self._check_open()["processing_name"] = processing_name

    def add_data(self, data: Any) -> Bundle:
        """Attach the bundle's data, replacing data added before; returns self.

        Any value tether stores exactly: DataFrames, Series, numpy arrays,
        scalars, str, bytes, lists, tuples, sets, dicts, datetimes, `Path`s of
        files or folders (stored with the bundle), `StorageFile`s; other
        objects only with `ALLOW_PICKLE`.
        """
        self._check_open()
        self._data = data
        return self

    def add_tags(self, tags: Mapping[str, str]) -> Bundle:
        """Add tags (str to str), replacing tags of the same name; returns self."""
        self._check_open()["tags"].update(_check_tags(tags))
        return self

    def add_params(self, params: Mapping[str, Any]) -> Bundle:
        """Add parameters (str to JSON values), replacing those of the same name; returns self."""
        self._check_open()["params"].update(_check_params(params))
        return self

    def add_dependencies(
        self, bundles: BundleView | str | Iterable[BundleView | str], arg_names: str | Iterable[str] | None = None
    ) -> Bundle:
        """Record upstream bundles this one was made from; returns self.

        Args:
            bundles: a closed Bundle or a bundle uuid, or several.
            arg_names: the argument name of each (default `_arg_<n>`).

        Raises:
            BundleError: a dependency is open or not a uuid, or the names do not match.
        """
        dependencies = self._check_open()["dependencies"]
        items = [bundles] if isinstance(bundles, BundleView | str) else list(bundles)
        if arg_names is None:
            names = [f"_arg_{len(dependencies) + index}" for index in range(len(items))]
        else:
            names = [arg_names] if isinstance(arg_names, str) else list(arg_names)
        if len(names) != len(items):
            raise BundleError(f"{len(items)} dependencies but {len(names)} argument names; give one name each")
        for arg, item in zip(names, items):
            if isinstance(item, BundleView):
                entry = item._check_closed()
                dependencies[arg] = entry.uuid
                self._upstream_names[arg] = entry.processing_name
            elif isinstance(item, str):
                try:
                    dependencies[arg] = str(uuid_module.UUID(item))
                except ValueError:
                    raise BundleError(f"dependency {item!r} is not a bundle uuid") from None
            else:
                raise BundleError(f"a dependency is a closed Bundle or its uuid, not a {type(item).__name__}")
        return self

    def add_dependency(self, bundle: BundleView | str, arg_name: str | None = None) -> Bundle:
        """Record one upstream bundle (or its uuid) this one was made from; returns self."""
        return self.add_dependencies(bundle, arg_name)

    def add_code_ref(self, code_ref: Any) -> Bundle:
        """Record the code that made the data (`package.module.function`, or the function); returns self."""
        draft = self._check_open()
        if not isinstance(code_ref, str):
            code_ref = f"{getattr(code_ref, '__module__', '')}.{getattr(code_ref, '__qualname__', code_ref)}"
        draft["code_ref"] = code_ref
        return self

    def add_git_info(self, repo: str, commit: str, branch: str) -> Bundle:
        """Record the repository URL, commit hash and branch of the code; returns self."""
        self._check_open()["git"] = {"repo": str(repo), "commit": str(commit), "branch": str(branch)}
        return self

    def add_timing(self, start_time: float | datetime, stop_time: float | datetime) -> Bundle:
        """Record when the work started and stopped (epoch seconds or datetimes); returns self."""
        timing = {"start": _epoch(start_time, "start_time"), "stop": _epoch(stop_time, "stop_time")}
        self._check_open()["timing"] = timing
        return self

    # --- files -----------------------------------------------------------------------------

    def _staged(self) -> Staging:
        self._check_open()
        assert self._staging is not None
        return self._staging

    def make_file(self, filename: str) -> Path:
        """A local path for a file to write and then add to the data: `b.add_data(b.make_file("x.csv"))`."""
        return self._staged().target(filename)

    def make_directory(self, dir_name: str) -> Path:
        """A local folder to fill and then add to the data; every file in it is kept, subfolders too."""
        path = self._staged().target(dir_name)
        path.mkdir(parents=True, exist_ok=True)
        return path

    get_file = make_file
    get_directory = make_directory

    def copy_in_file(self, existing_file: str | os.PathLike[str], name: str | None = None) -> Path:
        """Copy a local file into the bundle; add the returned path to the data.

        Args:
            existing_file: the file to copy.
            name: its path inside the bundle (default: its file name).

        Raises:
            BundleError: the file does not exist, or the bundle already has a file by that name.
        """
        staging = self._staged()
        source = os.fspath(existing_file)
        if not os.path.isfile(source):
            raise BundleError(f"cannot copy {source} into the bundle: it is not a file")
        target = staging.target(name or os.path.basename(source))
        if target.exists():
            raise BundleError(
                f"the bundle already has a file {target.name!r}; pass copy_in_file(path, name=...) to keep both"
            )
        shutil.copyfile(source, target)
        return target

    @property
    def local_dir(self) -> str | None:
        """The local staging folder of an open bundle (None once closed or if nothing was staged)."""
        staging = self._staging
        return staging.path if staging is not None and staging.created else None

    def db_table(self, dsn: str, table_name: str, schema_name: str) -> Any:
        """Not available: tether bundles hold data and files, not links to database tables."""
        raise NotAvailableError(
            "tether bundles do not link database tables; read the table into a DataFrame and add that"
        )

    def fill_from_hfr(self, hfr: Any) -> Bundle:
        """Not available: tether has no hyperframes; use `tether.bundles.get` to load a bundle."""
        raise NotAvailableError("tether has no hyperframes; load a bundle with tether.bundles.get(ctx, name)")
