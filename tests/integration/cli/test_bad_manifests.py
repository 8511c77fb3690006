"""Bad manifests through `jetkube apply -f`: each refused in one line that names the field and the
rule, with a non-zero exit, and the state bucket exactly as it was (its revision has not moved)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bus.store import Store
from tests.integration.cli.test_cli_against_api import jetkube

POD_HEAD = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n"
C = "spec:\n  containers:\n  - name: c\n    image: busybox\n"

# (case id, manifest text, text the error line must contain)
CASES: list[tuple[str, str, str]] = [
    ("yaml-syntax", "apiVersion: v1\nkind: Pod\nmetadata: {name: x\n", "yaml"),
    ("unknown-kind", "apiVersion: v1\nkind: Widget\nmetadata:\n  name: x\n", '"Widget"'),
    ("unknown-apiversion", "apiVersion: v7\nkind: Pod\nmetadata:\n  name: x\n" + C, '"v7"'),
    ("no-kind", "apiVersion: v1\nmetadata:\n  name: x\n", "kind"),
    ("no-apiversion", "kind: Pod\nmetadata:\n  name: x\n" + C, "apiVersion"),
    ("unknown-field", POD_HEAD.format(name="x") + C + "  colour: blue\n", "spec.colour"),
    (
        "unknown-container-field",
        POD_HEAD.format(name="x") + C + "    imagePolicy: x\n",
        "spec.containers[0].imagePolicy",
    ),
    (
        "wrong-type",
        POD_HEAD.format(name="x") + C + "  terminationGracePeriodSeconds: soon\n",
        "spec.terminationGracePeriodSeconds",
    ),
    ("missing-containers", POD_HEAD.format(name="x") + "spec: {}\n", "spec.containers"),
    (
        "missing-image",
        POD_HEAD.format(name="x") + "spec:\n  containers:\n  - name: c\n",
        "spec.containers[0].image",
    ),
    ("missing-name", "apiVersion: v1\nkind: Pod\nmetadata: {}\n" + C, "resource name may not be empty"),
    ("uppercase-name", POD_HEAD.format(name="Web") + C, "metadata.name"),
    ("underscore-name", POD_HEAD.format(name="web_1") + C, "metadata.name"),
    ("name-too-long", POD_HEAD.format(name="a" * 254) + C, "metadata.name"),
    (
        "bad-container-name",
        POD_HEAD.format(name="x") + "spec:\n  containers:\n  - name: C_1\n    image: b\n",
        "spec.containers[0].name",
    ),
    (
        "label-value-too-long",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  labels:\n    a: " + "v" * 64 + "\n" + C,
        "metadata.labels",
    ),
    (
        "bad-label-key",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  labels:\n    -bad: v\n" + C,
        "metadata.labels",
    ),
    (
        "duplicate-container",
        POD_HEAD.format(name="x") + C + "  - name: c\n    image: busybox\n",
        "spec.containers[1].name",
    ),
    (
        "port-70000",
        POD_HEAD.format(name="x") + C + "    ports:\n    - containerPort: 70000\n",
        "spec.containers[0].ports[0].containerPort",
    ),
    (
        "port-zero",
        POD_HEAD.format(name="x") + C + "    ports:\n    - containerPort: 0\n",
        "spec.containers[0].ports[0].containerPort",
    ),
    (
        "duplicate-port-name",
        POD_HEAD.format(name="x")
        + C
        + "    ports:\n    - {name: web, containerPort: 80}\n    - {name: web, containerPort: 81}\n",
        "spec.containers[0].ports[1].name",
    ),
    (
        "bad-restart-policy",
        POD_HEAD.format(name="x") + C + "  restartPolicy: Sometimes\n",
        "spec.restartPolicy",
    ),
    (
        "mount-of-missing-volume",
        POD_HEAD.format(name="x") + C + "    volumeMounts:\n    - {name: v, mountPath: /v}\n",
        "spec.containers[0].volumeMounts[0].name",
    ),
    (
        "negative-replicas",
        "apiVersion: v1\nkind: ReplicationController\nmetadata:\n  name: x\nspec:\n  replicas: -1\n"
        "  template:\n    metadata:\n      labels: {a: b}\n"
        "    spec:\n      containers:\n      - {name: c, image: b}\n",
        "spec.replicas",
    ),
    (
        "selector-not-matching",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n"
        "  selector:\n    matchLabels: {a: b}\n  template:\n    metadata:\n      labels: {a: c}\n"
        "    spec:\n      containers:\n      - {name: c, image: b}\n",
        "spec.template.metadata.labels",
    ),
    (
        "job-restart-always",
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: x\nspec:\n  template:\n"
        "    spec:\n      restartPolicy: Always\n      containers:\n      - {name: c, image: b}\n",
        "spec.template.spec.restartPolicy",
    ),
    (
        "service-port-missing",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  ports:\n  - {targetPort: 80}\n",
        "spec.ports[0].port",
    ),
    (
        "bad-quantity",
        POD_HEAD.format(name="x") + C + "    resources:\n      limits: {cpu: lots}\n",
        "spec.containers[0].resources.limits",
    ),
]


@pytest.fixture
async def quiet_store(store: Store, api: object) -> Store:
    return store


async def test_every_bad_manifest_is_refused_naming_the_field_and_changes_nothing(
    nats_url: str, quiet_store: Store, tmp_path: Path
) -> None:
    assert len(CASES) >= 25
    before = await quiet_store.revision()
    failures: list[str] = []
    for case, text, expected in CASES:
        path = tmp_path / f"{case}.yaml"
        path.write_text(text)
        code, out, err = await jetkube(nats_url, "apply", "-f", str(path))
        lines = [ln for ln in err.splitlines() if ln.strip()]
        if code == 0 or out or len(lines) != 1 or expected not in lines[0] or "Traceback" in err:
            failures.append(f"{case}: exit {code}, stdout {out!r}, stderr {err!r}")
    assert not failures, "\n".join(failures)
    assert await quiet_store.revision() == before
