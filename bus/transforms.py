"""The store's value transformations: what a value goes through between the API form and the bucket.

A :class:`~bus.store.Store` takes a chain of them at construction. A write passes the object
through the chain in order (``to_stored``) before encoding it; a read passes the decoded object
(with its ``resourceVersion`` set) back through the chain in reverse (``from_stored``). A deleted
object's last state (a tombstone, as a watch replays it) goes through ``from_deleted``, which may
give less rather than fail: the value is gone anyway.

Every store's chain starts with :class:`StorageVersion` (reads always convert a stored object to
the current version; writes convert to the ``--storage-versions`` version when the process has
one). The api adds Secret encryption (actors/api/encryption.py's ``SecretSealing``), as
kube-apiserver's storage transformers do.
"""

from __future__ import annotations

from typing import Any, Protocol

from schemas.versions import ApiVersions, to_current

Obj = dict[str, Any]


class ValueTransform(Protocol):
    def to_stored(self, obj: Obj) -> Obj: ...

    def from_stored(self, obj: Obj) -> Obj: ...

    def from_deleted(self, obj: Obj) -> Obj: ...


class StorageVersion:
    """Writes in the kind's storage version (``versions``; None: as given); reads in the current one."""

    def __init__(self, versions: ApiVersions | None = None) -> None:
        self.versions = versions

    def to_stored(self, obj: Obj) -> Obj:
        return obj if self.versions is None else self.versions.to_storage(obj)

    def from_stored(self, obj: Obj) -> Obj:
        return to_current(obj)  # the one place reads convert: stored version -> current version

    def from_deleted(self, obj: Obj) -> Obj:
        return to_current(obj)
