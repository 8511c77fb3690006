"""Field ownership (schemas/managedfields.py) as tables of state in, state out. The cases follow
Kubernetes' documentation on server-side apply (kubernetes.io/docs/reference/using-api/
server-side-apply): conflicts, force, shared ownership, fields dropped from a configuration, lists
merged on keys, the scale subresource changing replicas, the migration of jetkube's old annotation."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from schemas.errors import BadRequest, Conflict
from schemas.managedfields import (
    LAST_APPLIED,
    ApplyConflict,
    Entry,
    Writer,
    check_manager,
    decode_fields,
    encode_fields,
    field_set,
    last_applied_fields,
    manager_from_user_agent,
    migrate_annotations,
    path_string,
    prepare_apply,
    read_entries,
    record,
    to_prune,
    write_entries,
)

NOW = "2026-12-07T05:00:00Z"
LATER = "2026-12-07T05:01:00Z"


def deploy(replicas: int | None = 3, image: str = "nginx:1.14.2", **spec_extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {"app": "nginx"}},
        "template": {
            "metadata": {"labels": {"app": "nginx"}},
            "spec": {"containers": [{"name": "nginx", "image": image, "ports": [{"containerPort": 80}]}]},
        },
        **spec_extra,
    }
    if replicas is not None:
        spec["replicas"] = replicas
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "nginx"}, "spec": spec}


def strings(obj_or_paths: Any) -> set[str]:
    paths = field_set(obj_or_paths) if isinstance(obj_or_paths, dict) else obj_or_paths
    return {path_string(p) for p in paths}


def apply(live: dict[str, Any] | None, config: dict[str, Any], manager: str, *, force: bool = False):
    """An apply as the api does it: (new object with managedFields)."""
    writer = Writer(manager, "Apply", force=force)
    if live is None:
        _m, _e, w = prepare_apply({}, config, writer)
        obj = copy.deepcopy(config)
        obj["metadata"]["managedFields"] = write_entries(record([], None, obj, w, NOW))
        return obj
    merged, entries, w = prepare_apply(live, config, writer)
    merged["metadata"].pop("managedFields", None)
    owned = record(entries, live, merged, w, LATER)
    merged["metadata"]["managedFields"] = write_entries(owned)
    return merged


def update(
    live: dict[str, Any], new: dict[str, Any], manager: str, subresource: str | None = None
) -> dict[str, Any]:
    new = copy.deepcopy(new)
    new["metadata"].pop("managedFields", None)
    owned = record(read_entries(live), live, new, Writer(manager, "Update", "apps/v1", subresource), LATER)
    new["metadata"]["managedFields"] = write_entries(owned)
    return new


def owners(obj: dict[str, Any]) -> dict[str, set[str]]:
    return {
        e.manager + ("/" + e.subresource if e.subresource else ""): strings(e.fields)
        for e in read_entries(obj)
    }


# ------------------------------------------------------------------------------------ field sets


def test_field_set_of_a_deployment_uses_keys_for_containers_and_ports() -> None:
    assert strings(deploy()) == {
        ".spec.replicas",
        ".spec.selector.matchLabels.app",
        ".spec.template.metadata.labels.app",
        '.spec.template.spec.containers[name="nginx"]',
        '.spec.template.spec.containers[name="nginx"].name',
        '.spec.template.spec.containers[name="nginx"].image',
        '.spec.template.spec.containers[name="nginx"].ports[containerPort=80]',
        '.spec.template.spec.containers[name="nginx"].ports[containerPort=80].containerPort',
    }


def test_field_set_ignores_identity_bookkeeping_and_status() -> None:
    obj = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "x",
            "namespace": "d",
            "uid": "u",
            "resourceVersion": "3",
            "creationTimestamp": "t",
            "generation": 2,
            "managedFields": [{"manager": "m"}],
            "labels": {"a": "b"},
        },
        "data": {"k": "v"},
        "status": {"phase": "x"},
    }
    assert strings(obj) == {".metadata.labels.a", ".data.k"}
    assert strings(field_set(obj, subresource="status")) == {".status.phase"}


def test_env_by_name_finalizers_as_a_set_and_atomic_lists() -> None:
    pod = {
        "metadata": {"finalizers": ["a/b"]},
        "spec": {
            "containers": [{"name": "c", "args": ["x", "y"], "env": [{"name": "A", "value": "1"}]}],
            "tolerations": [{"key": "k"}],
        },
    }
    assert strings(pod) == {
        '.metadata.finalizers[="a/b"]',
        '.spec.containers[name="c"]',
        '.spec.containers[name="c"].name',
        '.spec.containers[name="c"].args',
        '.spec.containers[name="c"].env[name="A"]',
        '.spec.containers[name="c"].env[name="A"].name',
        '.spec.containers[name="c"].env[name="A"].value',
        ".spec.tolerations",
    }


def test_service_ports_key_on_port_and_taints_on_a_composite_key() -> None:
    svc = {"spec": {"ports": [{"port": 80, "targetPort": 8080}]}}
    assert ".spec.ports[port=80].targetPort" in strings(svc)
    node = {"spec": {"taints": [{"key": "k", "effect": "NoSchedule"}]}}
    assert '.spec.taints[effect="NoSchedule",key="k"]' in strings(node)


def test_fieldsv1_encoding_matches_kubernetes() -> None:
    encoded = encode_fields(field_set(deploy()))
    container = encoded["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"nginx"}']
    assert next(iter(container)) == "."  # the element itself, first, as Kubernetes prints it
    assert container["f:ports"]['k:{"containerPort":80}'] == {".": {}, "f:containerPort": {}}
    assert encoded["f:spec"]["f:replicas"] == {}
    assert "f:metadata" not in encoded  # name only: not owned


def test_fieldsv1_round_trips_and_decodes_what_kubernetes_writes() -> None:
    paths = field_set(deploy())
    assert decode_fields(json.loads(json.dumps(encode_fields(paths)))) == paths
    written_by_kubernetes = {
        "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
        "f:spec": {
            "f:template": {"f:spec": {"f:containers": {'k:{"name":"nginx"}': {".": {}, "f:image": {}}}}}
        },
    }
    assert strings(decode_fields(written_by_kubernetes)) == {
        ".metadata.labels",
        ".metadata.labels.app",
        '.spec.template.spec.containers[name="nginx"]',
        '.spec.template.spec.containers[name="nginx"].image',
    }


@pytest.mark.parametrize("bad", [[], {"x:y": {}}, {"f:a": 1}])
def test_a_malformed_fieldsv1_is_a_bad_request_naming_the_field(bad: Any) -> None:
    with pytest.raises(BadRequest, match=r"managedFields\.fieldsV1"):
        decode_fields(bad)


def test_managers_are_checked_and_derived_from_the_user_agent() -> None:
    assert manager_from_user_agent("kubectl/v1.32.0 (linux/amd64) kubernetes/abc") == "kubectl"
    assert manager_from_user_agent("OpenAPI-Generator/31.0.0/python") == "OpenAPI-Generator"
    assert manager_from_user_agent(None) is None
    assert check_manager(None, required=False) is None
    with pytest.raises(BadRequest, match="fieldManager: Required value"):
        check_manager("", required=True)
    with pytest.raises(BadRequest, match="no more than 128"):
        check_manager("m" * 129, required=False)
    with pytest.raises(BadRequest, match="printable"):
        check_manager("a\nb", required=False)


# ------------------------------------------------------------------------------------ updates


def test_create_gives_the_creator_every_field() -> None:
    obj = update({"metadata": {}}, deploy(), "kubectl-create")
    (entry,) = read_entries(obj)
    assert (entry.manager, entry.operation, entry.api_version, entry.time) == (
        "kubectl-create",
        "Update",
        "apps/v1",
        LATER,
    )
    assert entry.fields == field_set(deploy())


def test_an_update_takes_what_it_changes_from_others_without_conflict() -> None:
    created = update({"metadata": {}}, deploy(), "creator")
    scaled = copy.deepcopy(created)
    scaled["spec"]["replicas"] = 5
    after = update(created, scaled, "scaler")
    own = owners(after)
    assert own["scaler"] == {".spec.replicas"}
    assert ".spec.replicas" not in own["creator"]


def test_removed_fields_leave_every_manager_and_empty_entries_go() -> None:
    obj = update({"metadata": {}}, {"metadata": {"name": "c"}, "data": {"a": "1"}}, "one")
    obj = update(obj, {**obj, "data": {"a": "1", "b": "2"}}, "two")
    assert owners(obj) == {"one": {".data.a"}, "two": {".data.b"}}
    obj = update(obj, {**obj, "data": {"a": "1"}}, "one")
    assert owners(obj) == {"one": {".data.a"}}


def test_an_unchanged_update_changes_no_entry_time() -> None:
    obj = update({"metadata": {}}, deploy(), "m")
    entries = record(read_entries(obj), obj, obj, Writer("m", "Update", "apps/v1"), "2030-01-01T00:00:00Z")
    assert entries[0].time == LATER


def test_status_writes_own_only_status_in_an_entry_of_their_own() -> None:
    obj = update({"metadata": {}}, deploy(), "creator")
    with_status = {**obj, "status": {"replicas": 3}}
    after = update(obj, with_status, "controller", subresource="status")
    assert owners(after) == {"creator": strings(deploy()), "controller/status": {".status.replicas"}}


# ------------------------------------------------------------------------------------ apply


def test_apply_creates_with_only_the_configured_fields_owned() -> None:
    obj = apply(None, deploy(), "kubectl")
    (entry,) = read_entries(obj)
    assert (entry.manager, entry.operation) == ("kubectl", "Apply")
    assert entry.fields == field_set(deploy())


def test_another_manager_changing_a_field_is_a_conflict_worded_as_kubernetes_does() -> None:
    live = apply(None, deploy(replicas=3), "kubectl")
    with pytest.raises(Conflict) as caught:
        apply(live, deploy(replicas=5), "other")
    err = caught.value
    # an applier is named alone (kube-apiserver's manager identifier of an Apply has no apiVersion)
    assert err.message == 'Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas'
    status = err.to_status()
    assert status["reason"] == "Conflict" and status["code"] == 409
    assert status["details"]["causes"] == [
        {
            "type": "FieldManagerConflict",
            "message": 'conflict with "kubectl"',
            "field": ".spec.replicas",
        }
    ]


def test_a_conflict_with_an_updater_names_its_api_version() -> None:
    live = update({"metadata": {}}, deploy(replicas=3), "kubectl-client-side-apply")
    with pytest.raises(Conflict) as caught:
        apply(live, deploy(replicas=5), "other")
    assert caught.value.message == (
        'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: '
        ".spec.replicas"
    )


def test_several_conflicts_are_listed_by_manager() -> None:
    live = apply(None, deploy(replicas=3), "kubectl")
    with pytest.raises(Conflict) as caught:
        apply(live, deploy(replicas=5, image="nginx:2"), "other")
    assert caught.value.message == (
        'Apply failed with 2 conflicts: conflicts with "kubectl":\n'
        "- .spec.replicas\n"
        '- .spec.template.spec.containers[name="nginx"].image'
    )


def test_force_takes_ownership() -> None:
    live = apply(None, deploy(replicas=3), "kubectl")
    after = apply(live, deploy(replicas=5), "other", force=True)
    assert after["spec"]["replicas"] == 5
    own = owners(after)
    assert ".spec.replicas" in own["other"] and ".spec.replicas" not in own["kubectl"]


def test_the_same_value_is_shared_ownership_and_then_stays_when_one_drops_it() -> None:
    live = apply(None, deploy(replicas=3), "kubectl")
    shared = apply(
        live,
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "nginx"},
            "spec": {"replicas": 3},
        },
        "other",
    )
    own = owners(shared)
    assert ".spec.replicas" in own["kubectl"] and own["other"] == {".spec.replicas"}
    # kubectl drops replicas: other still owns it, so it stays
    dropped = apply(shared, deploy(replicas=None), "kubectl")
    assert dropped["spec"]["replicas"] == 3
    assert ".spec.replicas" not in owners(dropped)["kubectl"]


def test_a_field_dropped_from_the_configuration_is_removed_when_no_one_else_owns_it() -> None:
    live = apply(None, deploy(minReadySeconds=10), "kubectl")
    after = apply(live, deploy(), "kubectl")
    assert "minReadySeconds" not in after["spec"]


def test_a_dropped_field_that_an_update_also_set_stays() -> None:
    created = update({"metadata": {}}, deploy(), "kubectl-create")
    applied = apply(created, deploy(), "kubectl")  # same values: shared with the creator
    after = apply(applied, deploy(replicas=None), "kubectl")
    assert after["spec"]["replicas"] == 3


def test_lists_with_merge_keys_merge_per_element_and_drop_per_element() -> None:
    two = deploy()
    two["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "busybox"})
    live = apply(None, two, "kubectl")
    # another manager adds its own container: the lists merge on name
    extra = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "nginx"},
        "spec": {"template": {"spec": {"containers": [{"name": "log", "image": "fluent"}]}}},
    }
    live = apply(live, extra, "other")
    names = [c["name"] for c in live["spec"]["template"]["spec"]["containers"]]
    assert sorted(names) == ["log", "nginx", "sidecar"]
    # kubectl drops its sidecar: only that element goes
    after = apply(live, deploy(), "kubectl")
    names = [c["name"] for c in after["spec"]["template"]["spec"]["containers"]]
    assert sorted(names) == ["log", "nginx"]


def test_a_dropped_element_that_another_manager_has_a_field_in_stays() -> None:
    two = deploy()
    two["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "busybox"})
    live = apply(None, two, "kubectl")
    mine = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "nginx"},
        "spec": {"template": {"spec": {"containers": [{"name": "sidecar", "args": ["-v"]}]}}},
    }
    live = apply(live, mine, "other")
    after = apply(live, deploy(), "kubectl")
    sidecar = [c for c in after["spec"]["template"]["spec"]["containers"] if c["name"] == "sidecar"]
    assert sidecar == [{"name": "sidecar", "args": ["-v"]}]  # kubectl's image went, other's args stay


def test_env_entries_by_name() -> None:
    with_env = deploy()
    with_env["spec"]["template"]["spec"]["containers"][0]["env"] = [
        {"name": "A", "value": "1"},
        {"name": "B", "value": "2"},
    ]
    live = apply(None, with_env, "kubectl")
    only_a = copy.deepcopy(with_env)
    only_a["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "A", "value": "1"}]
    after = apply(live, only_a, "kubectl")
    assert after["spec"]["template"]["spec"]["containers"][0]["env"] == [{"name": "A", "value": "1"}]
    none = apply(after, deploy(), "kubectl")
    assert "env" not in none["spec"]["template"]["spec"]["containers"][0]


def test_scale_subresource_then_apply_conflicts_with_the_scaler_and_force_takes_replicas_back() -> None:
    live = apply(None, deploy(replicas=3), "kubectl")
    scaled = copy.deepcopy(live)
    scaled["spec"]["replicas"] = 5
    scaled = update(live, scaled, "kubectl-scale", subresource="scale")
    assert owners(scaled)["kubectl-scale/scale"] == {".spec.replicas"}
    with pytest.raises(Conflict) as caught:
        apply(scaled, deploy(replicas=3), "kubectl")
    assert caught.value.message == (
        'Apply failed with 1 conflict: conflict with "kubectl-scale" with subresource "scale" '
        "using apps/v1: .spec.replicas"
    )
    # applying without replicas leaves the scaled count and gives kubectl no claim on it
    kept = apply(scaled, deploy(replicas=None), "kubectl")
    assert kept["spec"]["replicas"] == 5
    forced = apply(scaled, deploy(replicas=3), "kubectl", force=True)
    assert forced["spec"]["replicas"] == 3
    assert "kubectl-scale/scale" not in owners(forced)  # its only field taken: the entry goes


def test_applying_what_another_manager_owns_unchanged_is_no_conflict() -> None:
    live = update({"metadata": {}}, deploy(), "kubectl-create")
    after = apply(live, deploy(), "kubectl")
    assert set(owners(after)) == {"kubectl-create", "kubectl"}


def test_a_map_emptied_by_a_drop_goes_with_it() -> None:
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "labels": {"a": "b"}},
        "data": {"k": "v"},
    }
    live = apply(None, cm, "m")
    after = apply(live, {**cm, "metadata": {"name": "c"}}, "m")
    assert "labels" not in after["metadata"]


def test_directives_are_refused_in_an_applied_configuration() -> None:
    live = apply(None, deploy(), "m")
    bad = deploy()
    bad["spec"]["$patch"] = "replace"
    with pytest.raises(BadRequest, match=r"\$patch"):
        apply(live, bad, "m")


def test_to_prune_keeps_what_others_hold_and_only_outermost_paths() -> None:
    item = ("f:spec", "f:containers", 'k:{"name":"a"}')
    last = {item, (*item, "f:name"), (*item, "f:image"), ("f:spec", "f:x")}
    # nobody else: the element goes whole (its fields with it), deepest paths first
    assert to_prune(last, set(), set()) == [item, ("f:spec", "f:x")]
    # another manager holds a field in the element: the element stays, kubectl's fields go
    assert set(to_prune(last, set(), {(*item, "f:args")})) == {
        (*item, "f:name"),
        (*item, "f:image"),
        ("f:spec", "f:x"),
    }
    # still applied: nothing goes
    assert to_prune(last, last, set()) == []


# ------------------------------------------------------------------------------------ migration


def test_the_old_annotation_is_read_once_as_the_managers_applied_set() -> None:
    applied = deploy(minReadySeconds=10)
    live = copy.deepcopy(applied)
    live["metadata"]["annotations"] = {"apply.jetkube.io/kubectl": json.dumps(applied), "keep": "me"}
    entries, migrated = migrate_annotations([], live, "apps/v1")
    assert migrated["metadata"]["annotations"] == {"keep": "me"}
    (entry,) = entries
    assert (entry.manager, entry.operation) == ("kubectl", "Apply")
    assert entry.fields == field_set(applied)
    # so dropping a field the old apply set removes it, and the annotation is gone
    after = apply(live, deploy(), "kubectl")
    assert "minReadySeconds" not in after["spec"]
    assert after["metadata"]["annotations"] == {"keep": "me"}
    assert [e.manager for e in read_entries(after)] == ["kubectl"]


def test_an_unreadable_old_annotation_is_dropped_without_an_entry() -> None:
    live = {"metadata": {"name": "x", "annotations": {"apply.jetkube.io/m": "{not json"}}}
    entries, migrated = migrate_annotations([], live, "v1")
    assert entries == [] and "annotations" not in migrated["metadata"]


def test_entries_round_trip_through_the_api_form() -> None:
    entry = Entry("m", "Apply", "v1", field_set(deploy()), NOW, None)
    (api,) = write_entries([entry])
    assert list(api) == ["manager", "operation", "apiVersion", "time", "fieldsType", "fieldsV1"]
    assert read_entries({"metadata": {"managedFields": [api]}}) == [entry]


def test_client_side_apply_fields_come_from_its_annotation() -> None:
    last = deploy(replicas=2)
    live = copy.deepcopy(last)
    live["metadata"]["annotations"] = {LAST_APPLIED: json.dumps(last)}
    assert last_applied_fields(live) == field_set(deploy(replicas=2))
    assert last_applied_fields(deploy()) == set()
    live["metadata"]["annotations"] = {LAST_APPLIED: "{broken"}
    assert last_applied_fields(live) == set()


def test_the_conflict_names_its_paths() -> None:
    live = apply(None, deploy(replicas=3), "kubectl-client-side-apply")
    with pytest.raises(ApplyConflict) as caught:
        apply(live, deploy(replicas=5), "kubectl")
    assert caught.value.paths == [("f:spec", "f:replicas")]
