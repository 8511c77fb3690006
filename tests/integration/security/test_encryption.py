"""Secrets encrypted at rest: the raw stream of the state bucket never shows a Secret's plaintext,
before or after ``rotate-key``; clients read it decrypted through the api."""

from __future__ import annotations

import base64
import contextlib
import json

from bus.store import Store
from tests.integration.security.conftest import SecureCluster

PLAINTEXT = "correct-horse-battery-staple"


async def raw_stream_bytes(store: Store) -> bytes:
    """Every message still in the bucket's stream (all revisions, all keys), concatenated."""
    info = await store.js.stream_info(store.stream)
    out = []
    for seq in range(int(info.state.first_seq), int(info.state.last_seq) + 1):
        with contextlib.suppress(Exception):
            msg = await store.js.get_msg(store.stream, seq)
            out.append(msg.data or b"")
    return b"\n".join(out)


def leaks(raw: bytes) -> bool:
    encoded = base64.b64encode(PLAINTEXT.encode())
    return PLAINTEXT.encode() in raw or encoded in raw


async def test_secret_plaintext_never_reaches_the_bucket_even_after_rotation(secure: SecureCluster) -> None:
    admin = await secure.client("admin")
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db"},
        "stringData": {"password": PLAINTEXT},
    }
    await admin.create("secrets", secret, "default")
    await admin.patch("secrets", "db", {"metadata": {"labels": {"tier": "db"}}}, namespace="default")
    expected = base64.b64encode(PLAINTEXT.encode()).decode()
    assert (await admin.get("secrets", "db", "default"))["data"] == {"password": expected}
    assert [s["data"] for s in (await admin.list("secrets", "default"))["items"]] == [{"password": expected}]

    raw = await secure.store.get("secrets", "default", "db")  # the bucket as any raw reader sees it
    assert "data" not in raw and raw["metadata"]["labels"] == {"tier": "db"}
    first_key = raw["jetkubeEncrypted"]["keyId"]
    assert not leaks(await raw_stream_bytes(secure.store))

    result = await admin.call("rotatekey", {})
    assert result["rewritten"] == 1 and result["droppedKeys"] == [first_key]
    rotated = await secure.store.get("secrets", "default", "db")
    assert rotated["jetkubeEncrypted"]["keyId"] == result["keyId"] != first_key
    assert list(json.loads(secure.key_file.read_text())["keys"]) == [result["keyId"]]
    assert not leaks(await raw_stream_bytes(secure.store))
    assert (await admin.get("secrets", "db", "default"))["data"] == {"password": expected}


async def test_rotation_is_for_admins_only(secure: SecureCluster) -> None:
    import pytest

    from schemas.errors import Forbidden

    viewer = await secure.client("viewer")
    with pytest.raises(Forbidden, match="system:masters only"):
        await viewer.call("rotatekey", {})
