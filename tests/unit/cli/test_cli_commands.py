"""The commands end to end over the in-memory api: what a user sees and the exit code."""

from __future__ import annotations

from tests.seedpaths import SEED_EXAMPLES

SEED = str(SEED_EXAMPLES) + "/"


def test_apply_twice_then_unchanged(cli):
    first = cli("apply", "-f", SEED + "pod-liveness-exec.yaml")
    assert first.exit_code == 0 and first.output == "pod/liveness-exec created\n"
    again = cli("apply", "-f", SEED + "pod-liveness-exec.yaml")
    assert again.output == "pod/liveness-exec unchanged\n"


def test_get_not_found_and_unknown_type(cli):
    res = cli("get", "pods", "nope")
    assert res.exit_code == 1 and 'Error from server (NotFound): pods "nope" not found' in res.output
    res = cli("get", "bogus")
    assert res.exit_code == 1 and 'error: the server doesn\'t have a resource type "bogus"' in res.output


def test_no_resources(cli):
    res = cli("get", "pods")
    assert res.exit_code == 0 and "No resources found in default namespace." in res.output


def test_seed_node_commands(cli, fake_api):
    fake_api.put(
        "nodes", {"metadata": {"name": "n1"}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    )
    assert (
        cli("patch", "nodes", "n1", "-p", '{"spec": {"unschedulable": true}}').output == "node/n1 patched\n"
    )
    assert "Ready,SchedulingDisabled" in cli("get", "nodes").output
    res = cli("replace", "nodes", "n1", '--patch={"apiVersion": "v1", "spec": {"unschedulable": false}}')
    assert res.exit_code == 0 and res.output == "node/n1 replaced\n"
    assert cli("cordon", "n1").output == "node/n1 cordoned\n"
    assert cli("uncordon", "n1").output == "node/n1 uncordoned\n"


def test_seed_go_template(cli, fake_api):
    fake_api.put(
        "pods",
        {
            "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c"}]},
            "status": {
                "containerStatuses": [{"name": "c", "lastState": {"terminated": {"message": "done"}}}]
            },
        },
    )
    tpl = "{{range .status.containerStatuses}}{{.lastState.terminated.message}}{{end}}"
    res = cli("get", "pods/p", "-o", f"go-template={tpl}")
    assert res.exit_code == 0 and res.output == "done"


def test_delete_prints_as_kubectl(cli, fake_api):
    cli("apply", "-f", SEED + "deployment-nginx-prestop.yaml")
    res = cli("delete", "deploy", "nginx", "--cascade=foreground")
    assert res.output == 'deployment.apps "nginx" deleted\n'
    deletes = [c for c in fake_api.calls if c[0] == "delete"]
    assert deletes == [("delete", "deployments", "nginx", "None", "Foreground")]
    res = cli("delete", "pods")
    assert res.exit_code == 1 and "no name was specified" in res.output


def test_label_overwrite(cli, fake_api):
    fake_api.put("pods", {"metadata": {"name": "p", "labels": {"a": "1"}}})
    assert cli("label", "pods", "p", "a=2").exit_code == 1
    assert cli("label", "pods", "p", "a=2", "--overwrite").output == "pod/p labeled\n"
    assert cli("label", "pods", "p", "a-").output == "pod/p labeled\n"
    assert cli("get", "pods", "p", "-o", "jsonpath={.metadata.labels}").output == "{}"


def test_scale(cli, fake_api):
    fake_api.put("replicationcontrollers", {"metadata": {"name": "r"}, "spec": {"replicas": 1}})
    assert cli("scale", "rc", "r", "--replicas", "3").output == "replicationcontroller/r scaled\n"
    assert cli("scale", "rc", "r", "--replicas", "4", "--current-replicas", "2").exit_code == 1
