"""--runtime-config and --storage-versions: flag text in, served and stored versions out (pure)."""

from __future__ import annotations

import pytest

from schemas import versions
from schemas.errors import BadRequest, NotFound
from schemas.registry import lookup


def deployment(api_version: str = "apps/v1") -> dict:
    return {
        "apiVersion": api_version,
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}},
    }


def test_default_serves_everything_and_stores_current_versions() -> None:
    v = versions.build()
    assert "extensions/v1beta1" in v.group_versions() and "apps/v1" in v.group_versions()
    assert v.storage_version("Deployment") == "apps/v1"
    obj = deployment()
    assert v.to_storage(obj) is obj


@pytest.mark.parametrize(
    ("flag", "off", "on"),
    [
        ("extensions/v1beta1=false", {"extensions/v1beta1"}, {"apps/v1beta2"}),
        ("api/beta=false", {"extensions/v1beta1", "apps/v1beta2", "batch/v1beta1"}, {"batch/v2alpha1"}),
        ("api/beta=false,apps/v1beta2=true", {"apps/v1beta1"}, {"apps/v1beta2"}),
        ("api/alpha=false", {"batch/v2alpha1"}, {"batch/v1beta1"}),
        (
            "api/all=false," + ",".join(f"{gv}=true" for gv in sorted(versions.CURRENT_VERSIONS)),
            {"apps/v1beta2", "batch/v1beta1"},
            {"apps/v1", "v1"},
        ),
        ("apps/v1beta1", set(), {"apps/v1beta1"}),  # a bare key means true, as kube-apiserver reads it
    ],
)
def test_runtime_config(flag: str, off: set[str], on: set[str]) -> None:
    v = versions.build(flag)
    assert off <= v.disabled
    assert not (on & v.disabled)


@pytest.mark.parametrize(
    ("runtime_config", "storage", "words"),
    [
        ("apps/v1=false", "", "apps/v1 cannot be disabled"),
        ("api/all=false", "", "cannot be disabled"),
        ("apps/v9=false", "", 'unknown group version "apps/v9"'),
        ("extensions/v1beta1=maybe", "", "must be true or false"),
        ("", "apps/v9", '--storage-versions: unknown group version "apps/v9"'),
        ("", "apps/v1,apps/v1beta2", "two versions for the group apps"),
        ("", "extensions/v1beta1", "extensions/v1beta1 cannot be a storage version"),
        ("", "apps/v1beta1", "apps/v1beta1 cannot be a storage version"),
        ("apps/v1beta2=false", "apps/v1beta2", "apps/v1beta2 is disabled by --runtime-config"),
    ],
)
def test_nonsense_flags_are_refused_naming_the_flag(runtime_config: str, storage: str, words: str) -> None:
    with pytest.raises(BadRequest) as err:
        versions.build(runtime_config, storage)
    assert words in str(err.value)


def test_storage_versions_per_group_only_for_kinds_the_version_holds() -> None:
    v = versions.build("", "apps/v1beta2,batch/v1beta1")
    assert v.storage_version("Deployment") == "apps/v1beta2"
    assert v.storage_version("DaemonSet") == "apps/v1beta2"
    assert v.storage_version("CronJob") == "batch/v1beta1"
    assert v.storage_version("Job") == "batch/v1"  # batch/v1beta1 has no Job: it stays current
    assert v.storage_version("Pod") == "v1"
    stored = v.to_storage(deployment())
    assert stored["apiVersion"] == "apps/v1beta2"
    assert stored["spec"] == deployment()["spec"]


def test_read_gives_the_current_version_and_a_round_trip_changes_nothing() -> None:
    v = versions.build("", "apps/v1beta2")
    original = deployment()
    assert versions.to_current(v.to_storage(deployment())) == original
    assert versions.needs_migration(deployment(), v)
    assert not versions.needs_migration(v.to_storage(deployment()), v)
    back = versions.migrated(v.to_storage(deployment()), versions.build())
    assert back == original


def test_to_current_applies_the_old_versions_defaults() -> None:
    old = deployment("extensions/v1beta1")
    del old["spec"]["selector"]
    old["spec"]["template"] = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": []}}
    out = versions.to_current(old)
    assert out["apiVersion"] == "apps/v1"
    assert out["spec"]["selector"] == {"matchLabels": {"app": "web"}}
    assert out["spec"]["revisionHistoryLimit"] == 2**31 - 1


def test_a_disabled_version_is_refused_with_a_clear_error() -> None:
    v = versions.build("extensions/v1beta1=false")
    with pytest.raises(NotFound) as err:
        v.check("extensions/v1beta1", "Deployment")
    assert "extensions/v1beta1 Deployment is disabled by --runtime-config" in str(err.value)
    assert "apps/v1" in str(err.value)
    v.check("apps/v1", "Deployment")


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [
        ("deployments.v1beta1.extensions", "extensions/v1beta1"),
        ("deployments.v1.apps", "apps/v1"),
        ("deployments.apps", None),
        ("deploy", None),
        ("pods.v1", "v1"),
    ],
)
def test_requested_version(spelling: str, expected: str | None) -> None:
    assert versions.requested_version(spelling, lookup(spelling)) == expected
