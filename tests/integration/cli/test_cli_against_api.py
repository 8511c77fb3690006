"""The CLI as a subprocess against a real nats-server and the api actor (tests/conftest.py)."""

from __future__ import annotations

from tests.seedpaths import SEED_EXAMPLES
from tests.waiting import jetkube

SEED = str(SEED_EXAMPLES) + "/"


async def test_apply_get_patch_delete(nats_url: str, api) -> None:
    code, out, err = await jetkube(nats_url, "apply", "-f", SEED + "pod-liveness-exec.yaml")
    assert code == 0, err
    assert out == "pod/liveness-exec created\n"
    code, out, err = await jetkube(nats_url, "apply", "-f", SEED + "pod-liveness-exec.yaml")
    assert out == "pod/liveness-exec unchanged\n", err
    code, out, err = await jetkube(nats_url, "get", "pods")
    assert code == 0 and out, (out, err)
    assert out.splitlines()[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert out.splitlines()[1].split()[:3] == ["liveness-exec", "0/1", "Pending"]
    code, out, err = await jetkube(nats_url, "get", "pods", "nope")
    assert code == 1 and err.strip() == 'Error from server (NotFound): pods "nope" not found'
    code, out, err = await jetkube(nats_url, "delete", "pod", "liveness-exec", "--force", "--grace-period=0")
    assert code == 0, err
    assert out == 'pod "liveness-exec" force deleted\n'


async def test_unreachable_server_is_one_line() -> None:
    code, _out, err = await jetkube("nats://127.0.0.1:1", "get", "pods")
    assert code == 1
    assert len(err.strip().splitlines()) == 1 and "nats://127.0.0.1:1" in err
