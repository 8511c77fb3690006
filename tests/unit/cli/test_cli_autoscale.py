"""``autoscale`` and ``get hpa`` over the in-memory api: what a user sees."""

from __future__ import annotations

import yaml

from cli.main import app  # noqa: F401  (the commands register on import)
from schemas.printing.hpa import targets


def deployment(name: str = "web") -> dict:
    return {
        "metadata": {"name": name},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}}, "template": {}},
    }


def test_autoscale_a_deployment_creates_a_v1_hpa(cli, fake_api):
    fake_api.put("deployments", deployment())
    res = cli("autoscale", "deploy/web", "--min", "2", "--max", "10", "--cpu-percent", "50")
    assert (res.exit_code, res.stdout) == (0, "horizontalpodautoscaler.autoscaling/web autoscaled\n")
    hpa = fake_api.objects[("horizontalpodautoscalers", "default", "web")]
    assert hpa["spec"] == {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "minReplicas": 2,
        "maxReplicas": 10,
        "targetCPUUtilizationPercentage": 50,
    }


def test_autoscale_dry_run_prints_the_object_and_creates_nothing(cli, fake_api):
    fake_api.put("replicationcontrollers", {"metadata": {"name": "rc"}, "spec": {"selector": {"a": "b"}}})
    res = cli("autoscale", "rc", "rc", "--max", "5", "--name", "auto", "--dry-run=client", "-o", "yaml")
    assert res.exit_code == 0, res.output
    body = yaml.safe_load(res.stdout)
    assert (body["apiVersion"], body["metadata"]["name"], body["spec"]["maxReplicas"]) == (
        "autoscaling/v1",
        "auto",
        5,
    )
    assert "minReplicas" not in body["spec"] and "targetCPUUtilizationPercentage" not in body["spec"]
    assert ("horizontalpodautoscalers", "default", "auto") not in fake_api.objects


def test_autoscale_refuses_bad_bounds_and_kinds_without_scale(cli, fake_api):
    fake_api.put("deployments", deployment())
    res = cli("autoscale", "deploy/web", "--min", "2")
    assert (res.exit_code, res.stderr) == (
        1,
        "error: --max=MAXPODS is required and must be at least 1, max: -1\n",
    )
    res = cli("autoscale", "deploy/web", "--min", "5", "--max", "3")
    assert res.stderr == "error: --max=MAXPODS must be larger or equal to --min=MINPODS, max: 3, min: 5\n"
    fake_api.put("pods", {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]}})
    res = cli("autoscale", "pod/p", "--max", "3")
    assert res.exit_code == 1 and "cannot autoscale a Pod" in res.stderr
    assert not [k for k in fake_api.objects if k[0] == "horizontalpodautoscalers"]


def hpa(metrics: list, current: list | None = None, replicas: int = 3) -> dict:
    return {
        "metadata": {"name": "web"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": 2,
            "maxReplicas": 10,
            "metrics": metrics,
        },
        "status": {"currentReplicas": replicas, "currentMetrics": current or []},
    }


CPU50 = {
    "type": "Resource",
    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}},
}
MEM = {
    "type": "Resource",
    "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "1Gi"}},
}
CPU_NOW = {
    "type": "Resource",
    "resource": {"name": "cpu", "current": {"averageUtilization": 12, "averageValue": "12m"}},
}
MEM_NOW = {"type": "Resource", "resource": {"name": "memory", "current": {"averageValue": "40Mi"}}}


def test_targets_cell():
    assert targets(hpa([CPU50])) == "cpu: <unknown>/50%"
    assert targets(hpa([CPU50], [CPU_NOW])) == "cpu: 12%/50%"
    assert targets(hpa([CPU50, MEM], [CPU_NOW, MEM_NOW])) == "cpu: 12%/50%, memory: 40Mi/1Gi"
    assert (
        targets(hpa([CPU50, MEM, CPU50], [CPU_NOW, MEM_NOW])) == "cpu: 12%/50%, memory: 40Mi/1Gi + 1 more..."
    )
    assert targets(hpa([])) == "<none>"


def test_get_hpa_has_kubectls_columns(cli, fake_api):
    fake_api.put("horizontalpodautoscalers", hpa([CPU50], [CPU_NOW]))
    res = cli("get", "hpa")
    assert res.exit_code == 0, res.output
    header, row = res.stdout.splitlines()
    assert header.split() == ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"]
    assert row.split()[:7] == ["web", "Deployment/web", "cpu:", "12%/50%", "2", "10", "3"]


def test_describe_hpa(cli, fake_api):
    obj = hpa([CPU50], [CPU_NOW])
    obj["status"].update(
        {
            "desiredReplicas": 3,
            "conditions": [
                {"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale", "message": "ok"}
            ],
        }
    )
    fake_api.put("horizontalpodautoscalers", obj)
    res = cli("describe", "hpa", "web")
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert lines[0].split() == ["Name:", "web"]
    assert "  resource cpu on pods  (as a percentage of request):  12% (12m) / 50%" in lines
    assert any(line.split() == ["Deployment", "pods:", "3", "current", "/", "3", "desired"] for line in lines)
    assert any(line.split()[:3] == ["AbleToScale", "True", "ReadyForNewScale"] for line in lines)
