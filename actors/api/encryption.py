"""Secrets encrypted at rest: what the api writes to the bucket never holds a Secret's plaintext.

As Kubernetes' ``EncryptionConfiguration`` with the ``aesgcm`` provider: a Secret's ``data`` and
``stringData`` are replaced, on their way into the bucket, by an envelope
``jetkubeEncrypted: {keyId, nonce, ciphertext}`` (AES-256-GCM from ``cryptography``; the associated
data binds the ciphertext to the Secret's namespace and name, so it cannot be moved to another
Secret). Everything else (metadata, type) stays readable, so raw-stream readers still see which
Secrets exist. Reading decrypts with the key named by ``keyId``.

:class:`EncryptingStore` is a :class:`~bus.store.Store` for the api actor only: its chain of value
transformations (bus/transforms.py) ends with :class:`SecretSealing`, which encrypts what every
write stores and decrypts what every read loads, so CAS, generations and watches work unchanged.
The control plane's own informers read the raw bucket and see envelopes; no controller reads
Secret data.

Keys: a JSON key file (``--encryption-key-file``, mode 0600)
``{"primary": id, "keys": {id: base64}, "retired": {id: unix time}}``. The primary seals; every key
opens; ``retired`` names the former primaries kept for reading only, and when they stopped sealing.

Several api replicas may share one key file (the test bed's two control planes do), so rotation
must never leave a replica sealing with a key the file no longer holds (what it wrote would be lost
at the next restart), and must never drop a key a stored value still uses. The rules:

* **The file is the only truth about the primary.** Before every seal a replica ``stat``s the file
  (device, inode, size, mtime: a syscall, no read) and reloads it if anything changed, then seals
  only with a primary the file holds (else InternalError: fail closed, nothing unreadable is
  written). Reading a value under an unknown keyId reloads the file too. Keys read from the file
  are merged into memory, never removed from it, so a running replica can always read what it
  could read before.
* **Every change of the file is a locked read-modify-write.** ``flock`` on ``<file>.lock``, re-read
  the file, change it, write a temp file in the same directory (0600, fsync) and ``os.replace`` it
  over the file (then fsync the directory). Readers never see a half-written file, and two
  replicas rotating at once both keep their keys (neither overwrites the other's with a stale copy).
  The lock is advisory and per host: replicas sharing the file must share the host (or a
  filesystem with working ``flock``), and share its directory (a bind mount of the file alone
  cannot be renamed over), as the test bed's control planes do.
* **Rotation is two-step; old keys are dropped only by a later rotation.** :func:`rotate` adds a new
  primary and marks the old one retired (step 1, in the file), re-writes every Secret with the new
  key (compare-and-set, retried on Conflict), and then drops only keys retired at least
  ``grace`` seconds ago (default :data:`RETIRED_KEY_GRACE`, ten minutes) that no stored Secret uses.
  The key it has just retired therefore stays in the file, read-only, until the *next* rotate-key.

Why a grace period and not "drop once the re-encryption pass is done": a replica that checked the
file just before step 1 may still have a write sealed with the old key in flight. Updates and
deletes are compare-and-set on the revision, and the pass moves every Secret's revision on, so such
a write either lands before the pass reads that Secret (and is re-encrypted) or fails with Conflict;
a *create* is not fenced that way and can land after the pass and after its final scan. Nothing
seals with a retired key once every replica has seen the new file, which is at its next write; so a
retired key that is older than any write can take, and unused by every stored Secret, is safe to
drop. Keeping the just-retired key until a later rotation costs little in security (whoever can read it
from the file can read the new primary, which opens every current Secret, just as well) and keeps
rotation a single command.

To drop a retired key without adding another: once the grace period is over, call
:func:`drop_retired_keys` (step 2 alone: it drops the retired keys no stored Secret uses), or edit
the file by hand while no rotation runs: check that no Secret uses the key
(``EncryptingStore.stored_key_ids``; a Secret still under it is re-written by a ``rotate-key``),
remove it from ``keys`` and ``retired``, write the copy next to the file and ``mv`` it over the
file; every replica picks it up at its next write.

Deleted Secrets: a tombstone (a deleted Secret's last state, as a watch replays it) whose key has
been dropped is given without its data rather than failing the watch; its metadata is not
encrypted.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bus.codec import decode, encode
from bus.store import Store
from schemas.errors import Conflict, InternalError

log = structlog.get_logger(__name__)

ENVELOPE = "jetkubeEncrypted"
SECRET_FIELDS = ("data", "stringData")
#: What stays readable in a stored Secret: what the store, the watchers, the garbage collector and
#: the namespace controller need to find, order and clean up objects. Everything else (data,
#: stringData, labels, annotations such as the last-applied configuration ``apply`` writes,
#: managedFields, immutable ...) is sealed, as Kubernetes encrypts the whole object.
PLAIN_TOP = frozenset({"apiVersion", "kind", "metadata", "type", ENVELOPE})
PLAIN_META = frozenset(
    {
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "finalizers",
        "ownerReferences",
        "generateName",
    }
)


def _split(obj: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(what stays readable, what is sealed) of a Secret."""
    meta = obj.get("metadata") or {}
    plain = {k: v for k, v in obj.items() if k in PLAIN_TOP}
    sealed = {k: v for k, v in obj.items() if k not in PLAIN_TOP}
    if isinstance(meta, dict):
        plain["metadata"] = {k: v for k, v in meta.items() if k in PLAIN_META}
        hidden = {k: v for k, v in meta.items() if k not in PLAIN_META}
        if hidden:
            sealed["metadata"] = hidden
    return plain, sealed


# How long a retired key is kept at least (seconds), whatever uses it: longer than any write sealed
# before the rotation can take to land (the module doc).
RETIRED_KEY_GRACE = 600.0

Signature = tuple[int, int, int, int]  # the key file's (st_dev, st_ino, st_size, st_mtime_ns)
KeyFile = dict[str, Any]  # the key file's JSON


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _aad(obj: dict[str, Any]) -> bytes:
    meta = obj.get("metadata") or {}
    return f"secrets/{meta.get('namespace') or ''}/{meta.get('name') or ''}".encode()


def _signature(st: os.stat_result) -> Signature:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _parse(text: str, path: Path) -> tuple[dict[str, bytes], str, dict[str, float]]:
    data = json.loads(text)
    keys = {k: base64.b64decode(v) for k, v in data["keys"].items()}
    primary = data["primary"]
    if primary not in keys or any(len(k) != 32 for k in keys.values()):
        raise ValueError(f"{path}: the primary key must be one of the keys, each 32 bytes")
    retired = {k: float(t) for k, t in (data.get("retired") or {}).items() if k in keys and k != primary}
    return keys, primary, retired


@dataclass
class KeyRing:
    """The keys in memory, kept in step with the key file at ``path`` (None: memory only)."""

    keys: dict[str, bytes] = field(default_factory=dict)
    primary: str = ""
    path: Path | None = None
    retired: dict[str, float] = field(default_factory=dict)  # former primaries: when they retired
    _sig: Signature | None = field(default=None, repr=False)  # of the file last read or written
    _file_keys: frozenset[str] = field(default=frozenset(), repr=False)  # the ids that file holds

    @classmethod
    def generate(cls, path: Path | None = None) -> KeyRing:
        ring = cls(path=Path(path) if path is not None else None)
        ring.add_primary()
        return ring

    @classmethod
    def load(cls, path: Path) -> KeyRing:
        ring = cls(path=Path(path))
        if ring._read() is None:
            raise FileNotFoundError(path)
        return ring

    @classmethod
    def load_or_create(cls, path: Path) -> KeyRing:
        """The file's keys; a new file with one key if there is none (created under the lock, so
        replicas starting together agree on one key)."""
        ring = cls(path=Path(path))
        if ring._read() is not None:  # (no lock needed to read: a file a replica may not write)
            return ring
        with ring._locked():
            if ring._read() is None:
                ring.add_primary()
                ring._write(ring._as_file())
        return ring

    def add_primary(self) -> str:
        """A new primary key, in memory only (a ring with a file seals with it once it is saved)."""
        key_id = self._new_id(self.keys)
        self.keys[key_id] = AESGCM.generate_key(bit_length=256)
        self.primary = key_id
        return key_id

    @staticmethod
    def _new_id(taken: dict[str, Any]) -> str:
        while True:
            key_id = f"key{len(taken) + 1}-{secrets.token_hex(3)}"
            if key_id not in taken:
                return key_id

    # ------------------------------------------------------------- the file

    def save(self) -> None:
        """Merge this ring into the file: its keys added (none removed), its primary made the
        file's, the file's former primary retired."""
        if self.path is None:
            return
        mine = self._as_file()  # (taken now: the locked read below updates this ring)
        primary = mine["primary"]

        def merge(current: KeyFile | None) -> KeyFile:
            if current is None:
                return mine
            retired = {**current["retired"], **mine["retired"]}
            if current["primary"] != primary:
                retired.setdefault(current["primary"], time.time())
            return {
                "primary": primary,
                "keys": {**current["keys"], **mine["keys"]},
                "retired": {k: t for k, t in retired.items() if k != primary},
            }

        self._edit(merge)

    def rotate_primary(self) -> tuple[str, str]:
        """Step 1 of a rotation, in the file: a new primary; the old one retired, kept for reading.
        The new and the retired key id."""
        if self.path is None:
            old = self.primary
            new = self.add_primary()
            self.retired[old] = time.time()
            return new, old
        ids: list[str] = []

        def rotate(current: KeyFile | None) -> KeyFile:
            if current is None:
                raise InternalError(f"the Secrets key file {self.path} is missing: restore it")
            keys = dict(current["keys"])
            old = current["primary"]
            new = self._new_id(keys)
            keys[new] = _b64(AESGCM.generate_key(bit_length=256))
            retired = {**current.get("retired", {}), old: time.time()}
            ids[:] = [new, old]
            return {**current, "primary": new, "keys": keys, "retired": retired}

        self._edit(rotate)
        return ids[0], ids[1]

    def drop_retired(self, key_ids: list[str]) -> list[str]:
        """Remove these keys from the file (and memory) if they are retired there; the ones removed.
        The caller has made sure no stored value uses them (:func:`rotate`)."""
        gone: list[str] = []

        def drop(current: KeyFile | None) -> KeyFile:
            if current is None:
                raise InternalError(f"the Secrets key file {self.path} is missing: restore it")
            retired = dict(current.get("retired", {}))
            gone[:] = [k for k in key_ids if k in retired and k != current["primary"]]
            keys = {k: v for k, v in current["keys"].items() if k not in gone}
            return {**current, "keys": keys, "retired": {k: t for k, t in retired.items() if k not in gone}}

        if self.path is None:
            gone = [k for k in key_ids if k in self.retired and k != self.primary]
        else:
            self._edit(drop)
        for k in gone:
            self.keys.pop(k, None)
            self.retired.pop(k, None)
        return gone

    def refresh(self, *, force: bool = False) -> None:
        """Reload the file if it changed since it was last read or written (one ``stat``)."""
        if self.path is None:
            return
        try:
            sig = _signature(os.stat(self.path))
        except FileNotFoundError:
            self._sig, self._file_keys = None, frozenset()
            return
        if force or sig != self._sig:
            try:
                self._read()
            except (OSError, ValueError, KeyError, TypeError) as err:  # (a hand edit gone wrong)
                raise InternalError(f"the Secrets key file {self.path} cannot be read: {err}") from err

    def _as_file(self) -> KeyFile:
        return {
            "primary": self.primary,
            "keys": {k: _b64(v) for k, v in self.keys.items()},
            "retired": dict(self.retired),
        }

    def _read(self) -> KeyFile | None:
        """Load the file into this ring (its keys added, its primary and retired keys taken) and
        return its content; None: there is no file."""
        assert self.path is not None
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            self._sig, self._file_keys = None, frozenset()
            return None
        with os.fdopen(fd) as f:  # stat and content of one and the same file, even mid-rename
            sig = _signature(os.fstat(f.fileno()))
            text = f.read()
        keys, primary, retired = _parse(text, self.path)
        if self._sig is not None and primary != self.primary:
            log.info("secrets.key_file_reloaded", path=str(self.path), primary=primary)
        self.keys.update(keys)
        self.primary, self.retired = primary, retired
        self._sig, self._file_keys = sig, frozenset(keys)
        return {"primary": primary, "keys": {k: _b64(v) for k, v in keys.items()}, "retired": dict(retired)}

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Exclusive ``flock`` on ``<file>.lock`` (never on the file, which is replaced)."""
        assert self.path is not None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def _edit(self, change: Callable[[KeyFile | None], KeyFile]) -> None:
        """Locked read-modify-write of the file; this ring then holds what was written."""
        assert self.path is not None
        with self._locked():
            self._write(change(self._read()))

    def _write(self, data: KeyFile) -> None:
        """Write the file atomically (temp file, fsync, rename, fsync the directory); the caller
        holds the lock. This ring then holds it."""
        assert self.path is not None
        _parse(json.dumps(data), self.path)  # never write a file that would not load
        text = json.dumps(
            {"primary": data["primary"], "keys": data["keys"], "retired": data.get("retired") or {}}
        )
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        with contextlib.suppress(OSError):
            dfd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        self._read()

    def _key(self, key_id: str) -> bytes:
        if key_id not in self.keys:
            self.refresh(force=True)  # another replica rotated
        try:
            return self.keys[key_id]
        except KeyError:
            raise InternalError(f"Secret encrypted with unknown key {key_id!r}: restore that key") from None

    # ---------------------------------------------------------------- objects

    def seal(self, obj: dict[str, Any]) -> dict[str, Any]:
        """The Secret with everything but its structural metadata in the envelope (a new dict)."""
        out, plain = _split(obj)
        if ENVELOPE in obj and not plain:
            return obj
        self.refresh()  # another replica may have rotated: seal with the file's primary
        if self.path is not None and self.primary not in self._file_keys:
            raise InternalError(
                f"the Secrets key file {self.path} does not hold the primary key {self.primary!r}"
                " (missing, or not saved yet): refusing to encrypt with it"
            )
        out.pop(ENVELOPE, None)
        nonce = os.urandom(12)
        sealed = AESGCM(self.keys[self.primary]).encrypt(nonce, encode(plain), _aad(obj))
        out[ENVELOPE] = {"keyId": self.primary, "nonce": _b64(nonce), "ciphertext": _b64(sealed)}
        return out

    def open(self, obj: dict[str, Any]) -> dict[str, Any]:
        env = obj.get(ENVELOPE)
        if not isinstance(env, dict):
            return obj
        key = self._key(str(env.get("keyId")))
        plain = decode(
            AESGCM(key).decrypt(
                base64.b64decode(env["nonce"]), base64.b64decode(env["ciphertext"]), _aad(obj)
            )
        )
        out = {k: v for k, v in obj.items() if k != ENVELOPE}
        plain = dict(plain) if isinstance(plain, dict) else {}
        hidden = plain.pop("metadata", None)
        out.update(plain)
        if isinstance(hidden, dict):  # sealed metadata (labels, annotations, ...) joins the plain
            out["metadata"] = {**(out.get("metadata") or {}), **hidden}
        return out

    def key_of(self, obj: dict[str, Any]) -> str | None:
        env = obj.get(ENVELOPE)
        return str(env.get("keyId")) if isinstance(env, dict) else None


def _is_secret(obj: dict[str, Any]) -> bool:
    return obj.get("kind") == "Secret"


class SecretSealing:
    """The store's value transformation (bus/transforms.py) that seals Secrets on write and opens
    them on read."""

    def __init__(self, keyring: KeyRing) -> None:
        self.keyring = keyring

    def to_stored(self, obj: dict[str, Any]) -> dict[str, Any]:
        return self.keyring.seal(obj) if _is_secret(obj) else obj

    def from_stored(self, obj: dict[str, Any]) -> dict[str, Any]:
        return self.keyring.open(obj) if ENVELOPE in obj else obj

    def from_deleted(self, obj: dict[str, Any]) -> dict[str, Any]:
        try:
            return self.from_stored(obj)
        except InternalError:  # a deleted Secret whose key has since been dropped: metadata, no data
            obj.pop(ENVELOPE, None)
            return obj


class EncryptingStore(Store):
    """The api's view of the bucket: the base store's chain of value transformations, then
    :class:`SecretSealing`; the same bucket and settings."""

    def __init__(self, base: Store, keyring: KeyRing) -> None:
        super().__init__(base.bus, base.bucket, transforms=(*base.transforms, SecretSealing(keyring)))
        self.js_timeout = base.js_timeout
        self.direct_reads = base.direct_reads  # leader reads on a replicated bucket (bus/store.py)
        self.watch_check_after = base.watch_check_after
        self.atomic_fences = base.atomic_fences  # fenced writes atomic with their check (bus/conditional.py)
        self.group_commit = base.group_commit  # concurrent writes share an fsync (bus/groupcommit.py)
        self.keyring = keyring

    async def stored_key_ids(self) -> dict[str, str | None]:
        """``ns/name`` -> the keyId each Secret is stored under, read raw (no decryption)."""
        raw = Store(self.bus, self.bucket)
        items, _ = await raw.list("secrets")
        return {
            f"{o['metadata'].get('namespace')}/{o['metadata']['name']}": self.keyring.key_of(o) for o in items
        }


async def rotate(
    store: EncryptingStore, *, grace: float = RETIRED_KEY_GRACE, retries: int = 8
) -> dict[str, Any]:
    """New primary key (the old one kept, read-only); every Secret re-written with it (CAS, retried);
    then :func:`drop_retired_keys` for keys retired by earlier rotations."""
    ring = store.keyring
    new_id, old_id = ring.rotate_primary()
    rewritten = 0
    items, _ = await store.list("secrets")
    for obj in items:
        meta = obj["metadata"]
        for _attempt in range(retries):
            try:
                await store.update("secrets", obj)
                rewritten += 1
                break
            except Conflict:
                obj = await store.get("secrets", meta.get("namespace"), meta["name"])
        else:
            raise Conflict(f'secrets "{meta["name"]}" kept changing during the key rotation; run it again')
    # never the key this rotation retired, whatever the grace: a later rotation drops it
    dropped, stored = await drop_retired_keys(store, grace=grace, keep={old_id})
    # (another replica may have rotated meanwhile: its primary is as good as ours)
    left = {name: k for name, k in stored.items() if k not in (None, new_id, ring.primary)}
    kept = sorted(ring.retired)
    log.info(
        "secrets.key_rotated", key=new_id, retired=old_id, rewritten=rewritten, dropped=dropped, kept=kept
    )
    return {
        "keyId": new_id,
        "rewritten": rewritten,
        "droppedKeys": dropped,
        "retiredKeys": kept,
        "notRewritten": sorted(left),
    }


async def drop_retired_keys(
    store: EncryptingStore, *, grace: float = RETIRED_KEY_GRACE, keep: set[str] | frozenset[str] = frozenset()
) -> tuple[list[str], dict[str, str | None]]:
    """Step 2 of a rotation: drop from the key file the keys retired at least ``grace`` seconds ago
    that no stored Secret uses (read after the call began). The keys dropped, and the keyId of every
    Secret as read."""
    ring = store.keyring
    ring.refresh()
    cutoff = time.time() - grace
    candidates = {k for k, t in ring.retired.items() if t <= cutoff} - set(keep)
    if not candidates:
        return [], await store.stored_key_ids()
    stored = await store.stored_key_ids()
    unused = sorted(candidates - set(stored.values()))
    return (ring.drop_retired(unused) if unused else []), stored
