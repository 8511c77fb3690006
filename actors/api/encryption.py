"""Secrets encrypted at rest: what the api writes to the bucket never holds a Secret's plaintext.

As Kubernetes' ``EncryptionConfiguration`` with the ``aesgcm`` provider: a Secret's ``data`` and
``stringData`` are replaced, on their way into the bucket, by an envelope
``jetkubeEncrypted: {keyId, nonce, ciphertext}`` (AES-256-GCM from ``cryptography``; the associated
data binds the ciphertext to the Secret's namespace and name, so it cannot be moved to another
Secret). Everything else (metadata, type) stays readable, so raw-stream readers still see which
Secrets exist. Reading decrypts with the key named by ``keyId``.

:class:`EncryptingStore` is a :class:`~bus.store.Store` for the api actor only: it encrypts in
``_stored_form`` (the one place every write passes) and decrypts in ``_decode_msg`` (the one place
every read passes), so CAS, generations and watches work unchanged. The control plane's own
informers read the raw bucket and see envelopes; no controller reads Secret data.

Keys: a JSON key file (``--encryption-key-file``, mode 0600) ``{"primary": id, "keys": {id: base64}}``.
:func:`rotate` adds a new primary key, re-writes every Secret (compare-and-set, retried on
Conflict) so it is encrypted with it, then drops the old keys. A second api replica with its own copy
of the file must be given the new file (the test bed shares one); an unknown ``keyId`` makes it reload
the file once before failing.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
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


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _aad(obj: dict[str, Any]) -> bytes:
    meta = obj.get("metadata") or {}
    return f"secrets/{meta.get('namespace') or ''}/{meta.get('name') or ''}".encode()


@dataclass
class KeyRing:
    keys: dict[str, bytes] = field(default_factory=dict)
    primary: str = ""
    path: Path | None = None

    @classmethod
    def generate(cls, path: Path | None = None) -> KeyRing:
        ring = cls(path=path)
        ring.add_primary()
        return ring

    @classmethod
    def load(cls, path: Path) -> KeyRing:
        data = json.loads(Path(path).read_text())
        keys = {k: base64.b64decode(v) for k, v in data["keys"].items()}
        if data["primary"] not in keys or any(len(k) != 32 for k in keys.values()):
            raise ValueError(f"{path}: the primary key must be one of the keys, each 32 bytes")
        return cls(keys=keys, primary=data["primary"], path=Path(path))

    @classmethod
    def load_or_create(cls, path: Path) -> KeyRing:
        if Path(path).exists():
            return cls.load(path)
        ring = cls.generate(Path(path))
        ring.save()
        return ring

    def add_primary(self) -> str:
        key_id = f"key{len(self.keys) + 1}-{secrets.token_hex(3)}"
        self.keys[key_id] = AESGCM.generate_key(bit_length=256)
        self.primary = key_id
        return key_id

    def drop_all_but_primary(self) -> list[str]:
        dropped = [k for k in self.keys if k != self.primary]
        self.keys = {self.primary: self.keys[self.primary]}
        return dropped

    def save(self) -> None:
        if self.path is None:
            return
        text = json.dumps({"primary": self.primary, "keys": {k: _b64(v) for k, v in self.keys.items()}})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)

    def _key(self, key_id: str) -> bytes:
        if key_id not in self.keys and self.path is not None and self.path.exists():
            fresh = KeyRing.load(self.path)  # another replica rotated
            self.keys.update(fresh.keys)
        try:
            return self.keys[key_id]
        except KeyError:
            raise InternalError(f"Secret encrypted with unknown key {key_id!r}: restore that key") from None

    # ---------------------------------------------------------------- objects

    def seal(self, obj: dict[str, Any]) -> dict[str, Any]:
        """The Secret with ``data``/``stringData`` replaced by the envelope (a new dict)."""
        plain = {f: obj[f] for f in SECRET_FIELDS if f in obj}
        if ENVELOPE in obj and not plain:
            return obj
        out = {k: v for k, v in obj.items() if k not in SECRET_FIELDS}
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
        out.update(plain if isinstance(plain, dict) else {})
        return out

    def key_of(self, obj: dict[str, Any]) -> str | None:
        env = obj.get(ENVELOPE)
        return str(env.get("keyId")) if isinstance(env, dict) else None


def _is_secret(obj: dict[str, Any]) -> bool:
    return obj.get("kind") == "Secret"


class EncryptingStore(Store):
    """The api's view of the bucket: Secrets sealed on write, opened on read."""

    def __init__(self, base: Store, keyring: KeyRing) -> None:
        super().__init__(base.bus, base.bucket)
        self.versions = base.versions
        self.js_timeout = base.js_timeout
        self.keyring = keyring

    def _stored_form(self, obj: dict[str, Any]) -> dict[str, Any]:
        obj = super()._stored_form(obj)
        return self.keyring.seal(obj) if _is_secret(obj) else obj

    def _decode_msg(self, data: bytes | None, seq: int) -> dict[str, Any]:
        obj = super()._decode_msg(data, seq)
        return self.keyring.open(obj) if ENVELOPE in obj else obj

    async def stored_key_ids(self) -> dict[str, str | None]:
        """``ns/name`` -> the keyId each Secret is stored under, read raw (no decryption)."""
        raw = Store(self.bus, self.bucket)
        items, _ = await raw.list("secrets")
        return {
            f"{o['metadata'].get('namespace')}/{o['metadata']['name']}": self.keyring.key_of(o) for o in items
        }


async def rotate(store: EncryptingStore, *, retries: int = 8) -> dict[str, Any]:
    """New primary key; every Secret re-written with it (CAS, retried); then old keys dropped."""
    ring = store.keyring
    new_id = ring.add_primary()
    ring.save()
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
    left = {k: v for k, v in (await store.stored_key_ids()).items() if v not in (None, new_id)}
    dropped: list[str] = []
    if not left:
        dropped = ring.drop_all_but_primary()
        ring.save()
    log.info("secrets.key_rotated", key=new_id, rewritten=rewritten, dropped=dropped)
    return {"keyId": new_id, "rewritten": rewritten, "droppedKeys": dropped, "notRewritten": sorted(left)}
