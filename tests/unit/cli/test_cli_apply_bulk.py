"""A big ``apply -f``: many objects of one kind are listed once, not fetched one by one, and an object
created after that listing (AlreadyExists) is applied from a fresh read."""

from __future__ import annotations

import json


def test_big_apply_lists_once_and_handles_a_late_namesake(cli, fake_api, tmp_path):
    docs = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i:02d}"}, "data": {"k": "v"}}
        for i in range(60)
    ]
    path = tmp_path / "cms.json"
    path.write_text("\n".join(json.dumps(d) for d in docs))
    fake_api.put("configmaps", {"metadata": {"name": "cm-05"}, "data": {"k": "old"}})
    original_list = fake_api.list
    calls = {"list": 0, "get": 0}

    async def listing(resource, namespace=None, **kw):
        calls["list"] += 1
        out = await original_list(resource, namespace, **kw)
        # cm-07 appears only after the listing was taken
        fake_api.put("configmaps", {"metadata": {"name": "cm-07"}, "data": {"k": "someone"}})
        return out

    original_get = fake_api.get

    async def get(*args, **kw):
        calls["get"] += 1
        return await original_get(*args, **kw)

    fake_api.list, fake_api.get = listing, get
    res = cli("apply", "-f", str(path))
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert len(lines) == 60 and lines[0] == "configmap/cm-00 created"
    assert lines[5] == "configmap/cm-05 configured" and lines[7] == "configmap/cm-07 configured"
    # one listing; one read for the late namesake (the in-memory api's two patches read too)
    assert calls == {"list": 1, "get": 1 + 2}
    assert fake_api.objects[("configmaps", "default", "cm-07")]["data"] == {"k": "v"}
