"""Holes 6 and 7: a Secret is wholly encrypted at rest, and a lost key file is never silent.

Every file under the nats-server's data directory is scanned for each plaintext and its base64
after each way of writing a Secret: create (``stringData``), apply (the last-applied annotation
``jetkube apply`` and kubectl write holds the whole manifest), replace, patch of each type, and a
rotation. The positive control is a ConfigMap holding a marker: once the marker is on disk, the
scan reads what the server wrote."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from actors.api.encryption import EncryptingStore, KeyRing
from actors.api.keycheck import MissingKeys, verify_keys
from tests.integration.security.conftest import SecureCluster
from tests.waiting import wait_for

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def on_disk(root: Path) -> bytes:
    return b"\n".join(p.read_bytes() for p in root.rglob("*") if p.is_file())


def found(raw: bytes, value: str) -> bool:
    return value.encode() in raw or base64.b64encode(value.encode()) in raw


async def test_no_field_of_a_stored_secret_is_readable(secure: SecureCluster) -> None:
    admin = await secure.client("admin")
    values = {
        w: f"plaintext-{w}-0123456789"
        for w in ("create", "apply", "replace", "merge", "json", "strategic", "label")
    }
    manifest = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s", "namespace": "default"},
        "stringData": {"create": values["create"]},
    }
    await admin.create("secrets", manifest)
    applied = {**manifest, "stringData": {"apply": values["apply"]}}
    await admin.patch(
        "secrets",
        "s",
        {
            "metadata": {"annotations": {LAST_APPLIED: json.dumps(applied)}},
            "stringData": applied["stringData"],
        },
        "strategic",
        "default",
    )
    current = await admin.get("secrets", "s", "default")
    current["data"]["replace"] = base64.b64encode(values["replace"].encode()).decode()
    current["metadata"].setdefault("labels", {})["hint"] = values["label"]
    await admin.update("secrets", current)
    await admin.patch("secrets", "s", {"stringData": {"merge": values["merge"]}}, "merge", "default")
    await admin.patch(
        "secrets",
        "s",
        [{"op": "add", "path": "/stringData", "value": {"json": values["json"]}}],
        "json",
        "default",
    )
    await admin.patch(
        "secrets", "s", {"stringData": {"strategic": values["strategic"]}}, "strategic", "default"
    )
    await admin.call("rotatekey", {})
    got = await admin.get("secrets", "s", "default")  # positive control: the api reads it back whole
    assert base64.b64decode(got["data"]["strategic"]).decode() == values["strategic"]
    assert json.loads(got["metadata"]["annotations"][LAST_APPLIED])["stringData"]["apply"] == values["apply"]

    marker = "configmap-marker-9876543210"
    await admin.create(
        "configmaps",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "m"}, "data": {"k": marker}},
        "default",
    )
    root = secure.server.data_dir

    async def marker_written() -> bool:
        return found(on_disk(root), marker)

    await wait_for(marker_written, timeout=20, what="the ConfigMap's marker on disk")
    raw = on_disk(root)
    leaked = [w for w, v in values.items() if found(raw, v)]
    assert leaked == [], f"plaintext on disk after: {leaked}"


async def test_a_lost_key_file_refuses_to_start_naming_the_keys(
    secure: SecureCluster, tmp_path: Path
) -> None:
    admin = await secure.client("admin")
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "kept"}, "stringData": {"k": "v"}}
    await admin.create("secrets", secret, "default")
    known = KeyRing.load(secure.key_file)
    # positive control: the key file in use opens everything
    await verify_keys(EncryptingStore(secure.store, known))
    # the file lost: a new key ring (as load_or_create would make) cannot open the stored Secret
    fresh = KeyRing.load_or_create(tmp_path / "lost" / "encryption.json")
    with pytest.raises(MissingKeys, match=known.primary) as err:
        await verify_keys(EncryptingStore(secure.store, fresh))
    assert "default/kept" in str(err.value)
