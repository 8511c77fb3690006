"""``jetkube set image``: the patch it computes and what it prints."""

from __future__ import annotations

from typing import Any

import pytest

from cli.commands.set import image_patch, split_args
from schemas.errors import BadRequest


def template(*containers: tuple[str, str], init: tuple[str, str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": n, "image": i} for n, i in containers]}
    if init:
        spec["initContainers"] = [{"name": init[0], "image": init[1]}]
    return {"metadata": {"labels": {"app": "x"}}, "spec": spec}


def test_split_args() -> None:
    assert split_args(["deploy/x", "a=b:1", "c=d"]) == (["deploy/x"], {"a": "b:1", "c": "d"})
    with pytest.raises(BadRequest, match="at least one image update"):
        split_args(["deploy/x"])
    with pytest.raises(BadRequest, match="expected CONTAINER=IMAGE"):
        split_args(["deploy/x", "a="])


def test_image_patch_per_kind() -> None:
    deploy = {"spec": {"template": template(("web", "nginx:1"), ("side", "busybox"))}}
    assert image_patch("deployments", deploy, {"web": "nginx:2"}) == {
        "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:2"}]}}}
    }
    pod = {"spec": template(("web", "nginx:1"), init=("setup", "busybox"))["spec"]}
    assert image_patch("pods", pod, {"*": "img"}) == {
        "spec": {
            "containers": [{"name": "web", "image": "img"}],
            "initContainers": [{"name": "setup", "image": "img"}],
        }
    }
    cj = {"spec": {"jobTemplate": {"spec": {"template": template(("c", "a"))}}}}
    assert image_patch("cronjobs", cj, {"c": "b"}) == {
        "spec": {
            "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "b"}]}}}}
        }
    }


def test_image_patch_unchanged_and_unknown_container() -> None:
    deploy = {"spec": {"template": template(("web", "nginx:1"))}}
    assert image_patch("deployments", deploy, {"web": "nginx:1"}) is None
    with pytest.raises(BadRequest, match='unable to find container named "nope"'):
        image_patch("deployments", deploy, {"nope": "x"})


def test_set_image_command(cli, fake_api) -> None:
    fake_api.put(
        "deployments",
        {"metadata": {"name": "web"}, "spec": {"template": template(("web", "nginx:1"), ("log", "busybox"))}},
    )
    fake_api.put(
        "replicationcontrollers",
        {"metadata": {"name": "rc1"}, "spec": {"template": template(("web", "nginx:1"))}},
    )
    res = cli("set", "image", "deployment/web", "rc/rc1", "web=nginx:2")
    assert res.exit_code == 0, res.output
    assert res.output == "deployment.apps/web image updated\nreplicationcontroller/rc1 image updated\n"
    containers = fake_api.objects[("deployments", "default", "web")]["spec"]["template"]["spec"]["containers"]
    assert containers == [{"name": "web", "image": "nginx:2"}, {"name": "log", "image": "busybox"}]
    assert ("patch", "deployments", "web", "strategic") in fake_api.calls
    # unchanged: nothing printed, exit 0
    res = cli("set", "image", "deploy", "web", "web=nginx:2")
    assert res.exit_code == 0 and res.output == ""


def test_set_image_errors(cli, fake_api) -> None:
    fake_api.put(
        "deployments", {"metadata": {"name": "web"}, "spec": {"template": template(("web", "nginx:1"))}}
    )
    res = cli("set", "image", "deploy/web", "nope=x")
    assert res.exit_code == 1 and 'error: unable to find container named "nope"' in res.output
    res = cli("set", "image", "deploy/missing", "web=x")
    assert (
        res.exit_code == 1
        and 'Error from server (NotFound): deployments.apps "missing" not found' in res.output
    )
    res = cli("set", "image", "svc/x", "web=x")
    assert res.exit_code == 1 and "cannot set the image of services" in res.output
