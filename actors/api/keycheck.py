"""The api's start-up check of the Secrets key file: a lost or replaced key file is never silent.

Stored Secrets name the key that sealed them (``jetkubeEncrypted.keyId``). Before the api serves,
:func:`verify_keys` reads every stored Secret's key id (raw, no decryption) and refuses to start,
naming the missing ids and some Secrets of each, when the key ring lacks any: starting anyway
would make a new key and fail every later read of those Secrets.
"""

from __future__ import annotations

from actors.api.encryption import EncryptingStore
from schemas.errors import InternalError


class MissingKeys(InternalError):
    """Stored Secrets are sealed with keys the key file does not hold (the file was lost or
    replaced): starting would make every later read of those Secrets fail."""


async def verify_keys(store: EncryptingStore, *, shown: int = 5) -> None:
    """Refuse (:class:`MissingKeys`, naming the key ids and some Secrets) when a stored Secret is
    sealed with a key the key ring lacks; the api checks this before it serves."""
    store.keyring.refresh(force=True)
    missing: dict[str, list[str]] = {}
    for key, key_id in (await store.stored_key_ids()).items():
        if key_id is not None and key_id not in store.keyring.keys:
            missing.setdefault(key_id, []).append(key)
    if not missing:
        return
    ids = ", ".join(sorted(missing))
    where = "; ".join(f"{k}: {', '.join(sorted(v)[:shown])}" for k, v in sorted(missing.items()))
    raise MissingKeys(
        f"stored Secrets are encrypted with key ids the key file {store.keyring.path} lacks: {ids} "
        f"({where}). Restore the key file that holds them (or start with it via "
        "--encryption-key-file); refusing to start rather than fail every read of those Secrets"
    )
