"""Data contexts: named namespaces of bundles (Disdat's contexts, not the run Context).

The project's current data context is kept in `BASE_DIR/.tether/bundles/current_context`
and is `default` until `switch` names another; the `default` context is
created the first time a bundle is written to it.
"""

from __future__ import annotations

from typing import NamedTuple

from tether.bundles.errors import BundleError, ContextNotFoundError
from tether.bundles.store import DEFAULT_CONTEXT, current_store

__all__ = [
    "DEFAULT_CONTEXT",
    "ContextInfo",
    "context",
    "current_context",
    "delete_context",
    "ls_contexts",
    "resolve_context",
    "switch",
]


class ContextInfo(NamedTuple):
    """A data context as `ls_contexts` lists it: `(name, remote)`, remote as `<remote context>@<url>`."""

    name: str
    remote: str | None = None


def context(context_name: str) -> int:
    """Create a new data context.

    Args:
        context_name: the context's name: letters, digits, `_`, `.` or `-`.

    Returns:
        0 if the context was created, 1 if it already existed.

    Raises:
        BundleError: the name is not valid; the Disdat form `<remote>/<local>`
            is refused with a pointer to `remote()`, which also takes the URL.
    """
    if isinstance(context_name, str) and "/" in context_name:
        remote_name, _, local = context_name.rpartition("/")
        raise BundleError(
            f"cannot create {context_name!r}: a context name has no '/'; create {local!r} and bind it"
            f" with tether.bundles.remote({local!r}, {remote_name!r}, URL)"
        )
    return 0 if current_store().create_context(context_name) else 1


def current_context() -> str:
    """The name of the project's current data context (`default` until `switch` is called)."""
    return current_store().read_current_context()


def switch(context_name: str) -> None:
    """Make `context_name` the project's current data context (kept across processes).

    Raises:
        ContextNotFoundError: no such context exists.
    """
    store = current_store()
    if context_name != DEFAULT_CONTEXT:
        store.require_context(context_name)
    store.write_current_context(context_name)


def ls_contexts() -> list[ContextInfo]:
    """Every data context, by name, as `(name, remote)` tuples; remote is `<remote context>@<url>` or None."""
    store = current_store()
    return [
        ContextInfo(entry.name, f"{entry.remote_context}@{entry.remote_url}" if entry.remote_url else None)
        for entry in store.index.list_contexts()
    ]


def delete_context(context_name: str, remote: bool = False, force: bool = False) -> None:
    """Delete a local data context with all its bundles.

    Blobs that bundles of other contexts hold are kept. If the context is the
    current one, the current context goes back to `default`.

    Args:
        context_name: the context to delete.
        remote: also delete the remote context bound to it (needs `force`):
            its index and manifests, and the blobs no other remote context holds.
        force: also delete a context that holds committed bundles.

    Raises:
        ContextNotFoundError: no such context exists.
        BundleError: it holds committed bundles and `force` is False, or
            `remote` is True without `force` or without a bound remote.
    """
    store = current_store()
    if not store.exists_context(context_name):
        raise ContextNotFoundError(
            f"no data context {context_name!r} to delete; tether.bundles.ls_contexts() lists them"
        )
    if remote:
        if not force:
            raise BundleError(
                f"deleting the remote context of {context_name!r} deletes it for every project bound to"
                " it; pass force=True (`tether context --delete --remote --force`) to do so"
            )
        from tether.bundles.remote_api import delete_remote_context

        delete_remote_context(store, context_name)
    if not force:
        committed = store.index.find(context_name, committed=True, limit=1, details=False)
        if committed:
            raise BundleError(
                f"data context {context_name!r} holds committed bundles; pass force=True"
                " (`tether context --delete --force`) to delete them with it"
            )
    store.forget_context(context_name)
    if store.read_current_context() == context_name:
        store.write_current_context(DEFAULT_CONTEXT)


def resolve_context(local_context: str | None, *, writing: bool = False) -> str:
    """The context a call names: `local_context`, or the current one if None.

    Args:
        local_context: a context name or None.
        writing: the call writes a bundle (the `default` context is created).

    Raises:
        ContextNotFoundError: the context does not exist (the `default` one
            counts as existing and empty until written to).
    """
    store = current_store()
    name = store.read_current_context() if local_context is None else local_context
    if not isinstance(name, str):
        raise BundleError(f"a data context is named by a str, not a {type(name).__name__}")
    if name == DEFAULT_CONTEXT and not writing:
        return name
    return store.require_context(name, create_default=writing)
