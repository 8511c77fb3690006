"""``jetkube edit`` driven by an ``$EDITOR`` script against the real api: a refused save reopens
the buffer with the error on top, a write made meanwhile is a conflict that is not lost, and saving
the same failing buffer twice gives up."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

from tests.waiting import jetkube

EDITOR = textwrap.dedent(
    """\
    import json, pathlib, subprocess, sys
    path = pathlib.Path(sys.argv[1])
    state = pathlib.Path(__file__).with_suffix(".state")
    step = int(state.read_text()) if state.exists() else 0
    state.write_text(str(step + 1))
    text = path.read_text()
    pathlib.Path(__file__).with_suffix(f".seen{step}").write_text(text)
    plan = json.loads(pathlib.Path(__file__).with_suffix(".plan").read_text())[step]
    if plan.get("run"):
        subprocess.run(plan["run"], check=True, stdout=subprocess.DEVNULL)
    for old, new in plan.get("replace", []):
        text = text.replace(old, new)
    path.write_text(text)
    """
)


def editor(tmp_path: Path, plan: list[dict]) -> dict[str, str]:
    import json

    script = tmp_path / "editor.py"
    script.write_text(EDITOR)
    script.with_suffix(".plan").write_text(json.dumps(plan))
    return {**os.environ, "EDITOR": f"{sys.executable} {script}"}


def seen(tmp_path: Path, step: int) -> str:
    return (tmp_path / f"editor.seen{step}").read_text()


CM = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "cfg", "namespace": "default"},
    "data": {"k": "one"},
}


async def run_edit(nats_url: str, env: dict[str, str], *args: str) -> tuple[int, str, str]:
    old = dict(os.environ)
    os.environ.update(env)
    try:
        return await jetkube(nats_url, "edit", *args)
    finally:
        os.environ.clear()
        os.environ.update(old)


async def test_invalid_save_reopens_with_the_error_then_succeeds(nats_url: str, api, tmp_path: Path) -> None:
    await api.create(
        "replicationcontrollers",
        {
            "apiVersion": "v1",
            "kind": "ReplicationController",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {
                "replicas": 1,
                "selector": {"app": "web"},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "c", "image": "nginx"}]},
                },
            },
        },
    )
    env = editor(
        tmp_path,
        [{"replace": [["replicas: 1", "replicas: -1"]]}, {"replace": [["replicas: -1", "replicas: 5"]]}],
    )
    code, out, err = await run_edit(nats_url, env, "rc/web")
    assert (code, out) == (0, "replicationcontroller/web edited\n"), err
    first, second = seen(tmp_path, 0), seen(tmp_path, 1)
    assert first.startswith("# Please edit the object below.") and "was not valid" not in first
    lines = second.splitlines()
    assert lines[4] == '# replicationcontrollers "web" was not valid:'
    assert lines[5].startswith("# * spec.replicas: Invalid value: -1: must be greater than or equal to 0")
    assert "replicas: -1" in second  # the user's edit is kept below the error
    assert (await api.get("replicationcontrollers", "web", "default"))["spec"]["replicas"] == 5


async def test_a_write_meanwhile_is_a_conflict_not_a_lost_update(nats_url: str, api, tmp_path: Path) -> None:
    await api.create("configmaps", CM)
    other = [
        sys.executable,
        "-m",
        "cli.main",
        "--server",
        nats_url,
        "patch",
        "cm",
        "cfg",
        "-p",
        '{"data": {"x": "them"}}',
    ]
    env = editor(
        tmp_path, [{"run": other, "replace": [["k: one", "k: two"]]}, {"replace": [["k: two", "k: zwei"]]}]
    )
    code, out, err = await run_edit(nats_url, env, "cm", "cfg")
    assert (code, out) == (0, "configmap/cfg edited\n"), err
    assert "could not be saved" in seen(tmp_path, 1)
    assert "k: two" in seen(tmp_path, 1)
    # the second save is compared with the other writer's revision: the user saw it and chose
    assert (await api.get("configmaps", "cfg", "default"))["data"] == {"k": "zwei"}


async def test_unchanged_cancels_and_a_failing_buffer_saved_twice_gives_up(
    nats_url: str, api, tmp_path: Path
) -> None:
    await api.create("configmaps", CM)
    code, out, _ = await run_edit(nats_url, editor(tmp_path, [{}]), "cm/cfg")
    assert (code, out) == (0, "Edit cancelled, no changes made.\n")
    (tmp_path / "editor.state").unlink()
    env = editor(tmp_path, [{"replace": [["name: cfg", "name: other"]]}, {}])
    code, out, err = await run_edit(nats_url, env, "cm/cfg")
    assert code == 1 and err.splitlines()[-1] == "error: Edit cancelled, no valid changes were saved."
    assert "A copy of your changes has been stored to" in err
    assert (await api.get("configmaps", "cfg", "default"))["data"] == {"k": "one"}
