"""``create deployment|job|configmap|secret generic|service`` and ``run``: the objects, as
``kubectl ... --dry-run=client -o yaml`` (v1.32) prints them (texts taken from kubectl)."""

from __future__ import annotations

import pytest

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  creationTimestamp: null
  labels:
    app: web
  name: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  strategy: {}
  template:
    metadata:
      creationTimestamp: null
      labels:
        app: web
    spec:
      containers:
      - image: nginx:1.25
        name: nginx
        ports:
        - containerPort: 80
        resources: {}
status: {}
"""
JOB = """apiVersion: batch/v1
kind: Job
metadata:
  creationTimestamp: null
  name: j
spec:
  template:
    metadata:
      creationTimestamp: null
    spec:
      containers:
      - command:
        - echo
        - hi
        image: busybox
        name: j
        resources: {}
      restartPolicy: Never
status: {}
"""
POD = """apiVersion: v1
kind: Pod
metadata:
  creationTimestamp: null
  labels:
    run: p
  name: p
spec:
  containers:
  - args:
    - sleep
    - "5"
    env:
    - name: A
      value: "1"
    image: busybox
    name: p
    ports:
    - containerPort: 80
    resources: {}
  dnsPolicy: ClusterFirst
  restartPolicy: Always
status: {}
"""
POD_NEVER = """apiVersion: v1
kind: Pod
metadata:
  creationTimestamp: null
  labels:
    a: b
  name: p2
spec:
  containers:
  - command:
    - sleep
    - "5"
    image: busybox
    name: p2
    resources: {}
  dnsPolicy: ClusterFirst
  restartPolicy: Never
status: {}
"""
SECRET = """apiVersion: v1
data:
  k: dg==
kind: Secret
metadata:
  creationTimestamp: null
  name: s
"""
NODEPORT = """apiVersion: v1
kind: Service
metadata:
  creationTimestamp: null
  labels:
    app: ns1
  name: ns1
spec:
  ports:
  - name: 5678-8080
    nodePort: 30080
    port: 5678
    protocol: TCP
    targetPort: 8080
  selector:
    app: ns1
  type: NodePort
status:
  loadBalancer: {}
"""
CLUSTERIP = """apiVersion: v1
kind: Service
metadata:
  creationTimestamp: null
  labels:
    app: c1
  name: c1
spec:
  ports:
  - name: "80"
    port: 80
    protocol: TCP
    targetPort: 80
  - name: 443-8443
    port: 443
    protocol: TCP
    targetPort: 8443
  selector:
    app: c1
  type: ClusterIP
status:
  loadBalancer: {}
"""

DRY = ["--dry-run=client", "-o", "yaml"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["create", "deployment", "web", "--image=nginx:1.25", "--port=80", "-r", "2", *DRY], DEPLOYMENT),
        (["create", "job", "j", "--image=busybox", *DRY, "--", "echo", "hi"], JOB),
        (["run", "p", "--image=busybox", "--env=A=1", "--port=80", *DRY, "--", "sleep", "5"], POD),
        (
            [
                "run",
                "p2",
                "--image=busybox",
                "--restart=Never",
                "--command",
                "--labels=a=b",
                *DRY,
                "--",
                "sleep",
                "5",
            ],
            POD_NEVER,
        ),
        (["create", "secret", "generic", "s", "--from-literal=k=v", *DRY], SECRET),
        (["create", "service", "nodeport", "ns1", "--tcp=5678:8080", "--node-port=30080", *DRY], NODEPORT),
        (["create", "service", "clusterip", "c1", "--tcp=80", "--tcp=443:8443", *DRY], CLUSTERIP),
    ],
    ids=["deployment", "job", "run", "run-never", "secret", "nodeport", "clusterip"],
)
def test_generated_objects_are_kubectls(cli, fake_api, args, expected):
    res = cli(*args)
    assert (res.exit_code, res.stderr) == (0, ""), res.output
    assert res.stdout == expected
    assert not fake_api.objects.get(("pods", "default", "p"))


def test_configmap_from_files_literals_and_binary(cli, tmp_path):
    (tmp_path / "f.txt").write_text("xyz")
    (tmp_path / "bin.dat").write_bytes(b"\x00\xff")
    res = cli(
        "create",
        "configmap",
        "c",
        "--from-literal=k=v",
        f"--from-file={tmp_path / 'f.txt'}",
        f"--from-file=other={tmp_path / 'f.txt'}",
        f"--from-file={tmp_path / 'bin.dat'}",
        *DRY,
    )
    assert res.exit_code == 0, res.output
    assert res.stdout == (
        "apiVersion: v1\nbinaryData:\n  bin.dat: AP8=\ndata:\n  f.txt: xyz\n  k: v\n  other: xyz\n"
        "kind: ConfigMap\nmetadata:\n  creationTimestamp: null\n  name: c\n"
    )


def test_generators_create_and_say_so(cli, fake_api):
    assert cli("create", "deployment", "web", "--image=nginx").stdout == "deployment.apps/web created\n"
    assert (
        fake_api.objects[("deployments", "default", "web")]["spec"]["template"]["spec"]["containers"][0][
            "name"
        ]
        == "nginx"
    )
    assert cli("create", "deploy", "w2", "--image=nginx", "--dry-run=client").stdout == (
        "deployment.apps/w2 created (dry run)\n"
    )
    assert ("deployments", "default", "w2") not in fake_api.objects
    assert cli("create", "cm", "c", "--from-literal=a=1", "-o", "name").stdout == "configmap/c\n"
    assert cli("run", "p", "--image=busybox").stdout == "pod/p created\n"
    assert cli("create", "namespace", "team").stdout == "namespace/team created\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create", "deployment", "web"], 'error: required flag(s) "image" not set\n'),
        (
            ["create", "deployment", "web", "--image=a", "--image=b", "--", "sleep"],
            "error: cannot specify multiple --image options and command\n",
        ),
        (
            ["create", "secret", "generic", "s", "--from-literal=a=1", "--from-env-file=x.env"],
            "error: from-env-file cannot be combined with from-file or from-literal\n",
        ),
        (
            ["create", "service", "clusterip", "c"],
            "error: at least one tcp port specifier must be provided\n",
        ),
        (
            ["create", "configmap", "c", "--from-literal=a=1", "--from-literal=a=2"],
            'error: cannot add key "a", another key by that name already exists\n',
        ),
        (
            ["run", "p", "--image=busybox", "--restart=Sometimes"],
            "error: invalid restart policy: Sometimes\n",
        ),
    ],
)
def test_bad_flags_name_the_rule_and_create_nothing(cli, fake_api, args, message):
    res = cli(*args)
    assert (res.exit_code, res.stderr) == (1, message)
    assert not fake_api.objects or all(k[0] == "namespaces" for k in fake_api.objects)


def test_expose_a_deployment_on_its_container_port_and_a_pod_on_a_given_port(cli, fake_api):
    cli("create", "deployment", "web", "--image=nginx", "--port=8080")
    res = cli("expose", "deploy/web", "--port=80", "--target-port=8080", "--type=NodePort")
    assert (res.exit_code, res.stdout) == (0, "service/web exposed\n"), res.output
    svc = fake_api.objects[("services", "default", "web")]
    assert svc["spec"]["selector"] == {"app": "web"} and svc["spec"]["type"] == "NodePort"
    assert svc["spec"]["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 8080}]
    assert svc["metadata"]["labels"] == {"app": "web"}
    res = cli("expose", "deployment", "web", "--name=web2", "--dry-run=client", "-o", "yaml")
    assert "  - port: 8080\n    protocol: TCP\n    targetPort: 8080\n" in res.stdout
    cli("run", "solo", "--image=busybox")
    res = cli("expose", "pod", "solo")
    assert (res.exit_code, res.stderr) == (1, "error: couldn't find port via --port flag or introspection\n")
    assert cli("expose", "pod", "solo", "--port=9000").stdout == "service/solo exposed\n"
    assert fake_api.objects[("services", "default", "solo")]["spec"]["selector"] == {"run": "solo"}
