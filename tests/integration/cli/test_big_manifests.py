"""A big ``-f`` against the real api: JSON documents separated by ``---``, the Namespace they live in
last in the file (sent first), progress on stderr, output in the file's order; then ``delete -f``."""

from __future__ import annotations

import json
from pathlib import Path

from tests.waiting import jetkube

COUNT = 150


def manifest(tmp_path: Path) -> Path:
    docs = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i:03d}", "namespace": "bulk"}}
        for i in range(COUNT)
    ]
    docs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bulk"}})
    path = tmp_path / "big.yaml"
    path.write_text("\n---\n".join(json.dumps(d) for d in docs) + "\n")
    return path


async def test_apply_create_delete_of_a_big_json_stream(nats_url: str, api, tmp_path: Path) -> None:
    path = manifest(tmp_path)
    code, out, err = await jetkube(nats_url, "apply", "-f", str(path))
    assert code == 0, err
    expected = [f"configmap/cm-{i:03d} created" for i in range(COUNT)] + ["namespace/bulk created"]
    assert out.splitlines() == expected
    assert err.splitlines()[-1].startswith(f"applied {COUNT + 1}/{COUNT + 1} objects (")
    listing = await api.list("configmaps", "bulk")
    assert len(listing["items"]) == COUNT

    code, out, err = await jetkube(nats_url, "apply", "-f", str(path))
    assert code == 0 and set(out.splitlines()) == {line.replace("created", "unchanged") for line in expected}

    code, out, err = await jetkube(nats_url, "create", "-f", str(path))
    assert code == 1 and out == ""
    assert err.count("AlreadyExists") == COUNT + 1, err

    code, out, err = await jetkube(nats_url, "delete", "-f", str(path), "--wait=false")
    assert code == 0, err
    assert out.splitlines()[0] == 'configmap "cm-000" deleted'
    assert out.splitlines()[-1] == 'namespace "bulk" deleted'
    assert not (await api.list("configmaps", "bulk"))["items"]
