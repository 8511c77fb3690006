"""The seed's cluster upgrade with new API versions, its five steps on a populated cluster.

A real ``jetkube up`` (a child process on one data dir) is restarted with new flags between
steps, as an operator restarts kube-apiserver; the CLI runs in this process against it over NATS.
What must hold throughout: nothing changes meaning (same uids, specs, generations and pods), only
the version objects are written in, and a disabled version is refused with a clear error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cli.localcluster import LocalCluster
from tests.integration.operations.helpers import jetkube, objects, stored_versions, until
from tests.integration.operations.manifests import ALPHA_CRONJOB, OLD

WORKLOADS = ("deployments", "replicasets", "cronjobs", "services", "pods")
OLD_VERSIONS = (
    "extensions/v1beta1=false,apps/v1beta1=false,apps/v1beta2=false,batch/v1beta1=false,batch/v2alpha1=false"
)


def meaning(objs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What must not change: uid, generation, spec, and the labels the objects were made with."""
    out = {}
    for key, obj in objs.items():
        meta = obj["metadata"]
        labels = {k: v for k, v in (meta.get("labels") or {}).items() if k != "step"}
        out[key] = (obj["apiVersion"], meta["uid"], meta.get("generation"), obj.get("spec"), labels)
    return out


def test_five_step_api_upgrade_keeps_every_object_meaning_the_same(tmp_path: Path) -> None:
    data = tmp_path / "cluster"
    old_yaml = tmp_path / "old.yaml"
    old_yaml.write_text(OLD)
    alpha_yaml = tmp_path / "alpha.yaml"
    alpha_yaml.write_text(ALPHA_CRONJOB)

    # Step 0, the old cluster: objects written in apps/v1beta2 and batch/v1beta1; alpha versions off.
    old_flags = ("--storage-versions", "apps/v1beta2,batch/v1beta1", "--runtime-config", "api/alpha=false")
    with LocalCluster(data, extra_args=old_flags) as cluster:
        url = cluster.url
        jetkube(url, "apply", "-f", str(old_yaml))
        refused = jetkube(url, "apply", "-f", str(alpha_yaml), ok=False)
        assert refused.exit_code == 1
        assert "batch/v2alpha1 CronJob is disabled by --runtime-config" in refused.output
        until(lambda: len(objects(url, "pods")) == 3, what="3 pods of the deployment and the replica set")
        before = meaning(objects(url, *WORKLOADS))
        stored = stored_versions(url, "deployments", "replicasets", "cronjobs")
        assert stored["deployments.default.frontend"] == "apps/v1beta2"
        assert stored["cronjobs.default.tick"] == "batch/v1beta1"
        assert set(stored.values()) == {"apps/v1beta2", "batch/v1beta1"}
        # reads give the current version, whatever is stored
        assert {o[0] for k, o in before.items() if k.startswith("deployments")} == {"apps/v1"}

    # Step 1: turn the new versions on (jetkube serves its current versions always; saying so is
    # accepted) and the alpha one too.
    step1 = (*old_flags[:2], "--runtime-config", "apps/v1=true,batch/v1=true")
    with LocalCluster(data, extra_args=step1) as c:
        served = jetkube(c.url, "api-versions").output.split()
        assert {"apps/v1", "batch/v1", "batch/v2alpha1", "extensions/v1beta1"} <= set(served)
        assert meaning(objects(c.url, *WORKLOADS)) == before

    # Step 2: write in the new versions. A change is written in apps/v1; the rest stays as it was.
    with LocalCluster(data, extra_args=("--storage-versions", "apps/v1,batch/v1")) as c:
        url = c.url
        assert "apps\tapps/v1" in jetkube(url, "api-versions", "--storage").output
        jetkube(url, "label", "deployment", "frontend", "step=2")
        stored = stored_versions(url, "deployments", "replicasets")
        assert stored["deployments.default.frontend"] == "apps/v1"
        assert stored["replicasets.default.cache"] == "apps/v1beta2"
        assert meaning(objects(url, *WORKLOADS)) == before

        # Step 3: convert the manifests; applying them changes nothing that matters.
        converted = jetkube(url, "convert", "-f", str(old_yaml), "--output-version", "apps/v1").output
        assert "extensions/v1beta1" not in converted and "apps/v1beta2" not in converted
        batch = jetkube(url, "convert", "-f", str(tmp_path / "old.yaml"), "--output-version", "batch/v1")
        new_yaml = tmp_path / "new.yaml"
        cronjob_part = [d for d in batch.output.split("\n- ") if "CronJob" in d]
        assert cronjob_part and "batch/v1\n" in cronjob_part[0] + "\n"
        new_yaml.write_text(converted)
        jetkube(url, "apply", "-f", str(new_yaml))
        assert meaning(objects(url, *WORKLOADS)) == before

        # Step 4: rewrite every stored object in its storage version.
        out = jetkube(url, "migrate-storage").output
        assert "rewritten in their storage version" in out
        stored = stored_versions(url, "deployments", "replicasets", "cronjobs")
        assert set(stored.values()) == {"apps/v1", "batch/v1"}, stored
        assert "finished" in jetkube(url, "migrate-storage", "--status").output
        assert meaning(objects(url, *WORKLOADS)) == before

    # Step 5: turn the old versions off. Old manifests are refused, clearly; nothing else changed.
    with LocalCluster(data, extra_args=("--runtime-config", OLD_VERSIONS)) as c:
        url = c.url
        served = set(jetkube(url, "api-versions").output.split())
        assert not served & {"extensions/v1beta1", "apps/v1beta2", "batch/v1beta1"}
        refused = jetkube(url, "apply", "-f", str(old_yaml), ok=False)
        assert refused.exit_code == 1
        assert (
            "the server could not find the requested resource: extensions/v1beta1 Deployment is "
            "disabled by --runtime-config" in refused.output
        )
        assert "apps/v1beta2 ReplicaSet is disabled" in refused.output
        jetkube(url, "apply", "-f", str(new_yaml))
        assert meaning(objects(url, *WORKLOADS)) == before
