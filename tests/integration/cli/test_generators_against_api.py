"""The generators' objects are accepted by the real api as kubectl's are: run, expose, create ..."""

from __future__ import annotations

from tests.waiting import jetkube


async def test_run_create_and_expose_against_the_api(nats_url: str, api, tmp_path) -> None:
    steps = [
        (["run", "p", "--image=busybox", "--port=80", "--env=A=1", "--", "sleep", "5"], "pod/p created\n"),
        (
            ["create", "deployment", "web", "--image=nginx", "--port=80", "-r", "2"],
            "deployment.apps/web created\n",
        ),
        (["create", "job", "j", "--image=busybox", "--", "echo", "hi"], "job.batch/j created\n"),
        (["create", "configmap", "c", "--from-literal=k=v"], "configmap/c created\n"),
        (["create", "secret", "generic", "s", "--from-literal=k=v"], "secret/s created\n"),
        (["create", "service", "nodeport", "np", "--tcp=5678:8080"], "service/np created\n"),
        (["expose", "deploy/web", "--port=8080", "--target-port=80"], "service/web exposed\n"),
        (["expose", "pod", "p", "--name=psvc"], "service/psvc exposed\n"),
        (
            ["autoscale", "deploy/web", "--min", "2", "--max", "10", "--cpu-percent", "50"],
            "horizontalpodautoscaler.autoscaling/web autoscaled\n",
        ),
    ]
    for args, expected in steps:
        code, out, err = await jetkube(nats_url, *args)
        assert (code, out) == (0, expected), (args, err)
    svc = await api.get("services", "web", "default")
    assert svc["spec"]["selector"] == {"app": "web"} and svc["spec"]["ports"][0]["targetPort"] == 80
    assert (await api.get("services", "psvc", "default"))["spec"]["ports"][0]["port"] == 80
    assert (await api.get("secrets", "s", "default"))["data"] == {"k": "dg=="}
    code, out, err = await jetkube(nats_url, "get", "hpa")
    assert code == 0, err
    header, row = out.splitlines()
    assert header.split() == ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"]
    assert row.split()[:6] == ["web", "Deployment/web", "cpu:", "<unknown>/50%", "2", "10"]
    code, out, err = await jetkube(nats_url, "get", "hpa", "web", "-o", "jsonpath={.apiVersion}")
    assert out == "autoscaling/v2"
