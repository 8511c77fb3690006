"""``jetkube testbed up|down|status``: the multi-node test bed of compose.yaml.

The bed is a docker-compose project named ``jetkube-testbed``: three NATS servers (one JetStream
cluster), two control planes and three nodes (see compose.yaml). ``up`` builds the images it runs
(``images/build.py``, cached), creates the kubelets' state dirs, starts the project and waits for
the three nodes to be Ready; ``down`` removes the project with its volumes, every container and
volume the bed's kubelets made on the engine (by the ``io.jetkube.node`` label) and the state dirs;
``status`` shows the containers and ``jetkube get nodes`` against the bed.

``--node-engines`` (opt-in) runs compose.node-engines.yaml instead: every node a host of its own,
a container ``nodeN-host`` with its own Docker engine, service proxy and network namespace, the
kubelet's container ``nodeN`` in that namespace on that engine, pods on the Flannel pod network
(vxlan) across the hosts, the cluster DNS on the compose network. ``up`` then starts the hosts
first and loads the images the pods use into each host's engine (``docker save | docker load``:
built once, on the machine's engine) before the rest.

Point the CLI at the bed with ``--context admin@testbed`` (``up`` writes the contexts
``admin@testbed`` and ``viewer@testbed`` into the client config): the first NATS server's client
port, 127.0.0.1:14222, published on loopback only (14223 and 14224 are the others).

The bed requires credentials as ``jetkube up`` does, with the roles of bus/auth.py and fixed
passwords (:data:`TESTBED_PASSWORDS`; the bed is a local test rig on loopback): its NATS config
(images/testbed/nats.conf) carries :func:`testbed_authorization`, the control planes and kubelets
log in with credentials in their ``--server`` URLs (compose.yaml), and both control planes encrypt
Secrets with one key file that ``up`` creates beforehand in ``/var/lib/jetkube/testbed/keys``.
:data:`SERVERS` carry the control plane's login: the tests and scripts drive the bed with it.

:class:`Testbed` is the same thing as a library, for the tests (tests/testbed/) and the seed's
end-to-end script; it prints nothing.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from bus.auth import ADMIN, CONTROLPLANE, VIEWER, authorization_block, node_user
from bus.embedded import DEFAULT_SYNC_INTERVAL
from schemas.errors import JetkubeError, ServiceUnavailable, Timeout

PROJECT = "jetkube-testbed"
NETWORK = "jetkube-testbed"
PLAIN_SERVERS = ("nats://127.0.0.1:14222", "nats://127.0.0.1:14223", "nats://127.0.0.1:14224")
NATS_SERVICES = ("nats1", "nats2", "nats3")
CONTROLPLANES = ("controlplane1", "controlplane2")
# compose service of the kubelet -> node name (also the kubelet's container label io.jetkube.node)
NODES = {"node1": "testbed-node1", "node2": "testbed-node2", "node3": "testbed-node3"}
# compose service of the kubelet -> that of its host (the engine, the network namespace, the proxy)
NODE_HOSTS = {service: f"{service}-host" for service in NODES}
STATE_ROOT = Path("/var/lib/jetkube/testbed")
KEY_FILE = STATE_ROOT / "keys" / "encryption.json"
PKI_ROOT = STATE_ROOT / "keys" / "pki"  # <control plane>/ca.crt, ca.key: one CA for both gateways
CONTROL_PLANES = ("controlplane1", "controlplane2")
NODE_LABEL = "io.jetkube.node"
TESTBED_PASSWORDS = {
    user: f"testbed-{user}" for user in (ADMIN, CONTROLPLANE, VIEWER, *(node_user(n) for n in NODES.values()))
}


def login_url(server: str, user: str) -> str:
    return server.replace("://", f"://{user}:{TESTBED_PASSWORDS[user]}@", 1)


SERVERS = tuple(login_url(s, CONTROLPLANE) for s in PLAIN_SERVERS)
SERVER = SERVERS[0]


def testbed_authorization() -> str:
    """The ``authorization`` block of images/testbed/nats.conf (a unit test keeps them equal)."""
    return authorization_block(TESTBED_PASSWORDS)


def prepare_host() -> None:
    """The kubelets' state dirs (of the default bed; the node-engines bed keeps them in volumes),
    and what both control planes mount, made before they start so they never race to make two: the
    Secrets key file, and one CA in each control plane's pki dir. (The gateways share the cluster
    CA through the store themselves, actors/gateway/clusterca.py, so the pre-made one only spares
    the bed a replaced-CA warning; it is kept until a bed whose images carry that code has run
    without it.)"""
    from actors.api.encryption import KeyRing
    from actors.gateway.pki import Pki, make_ca
    from bus.auth import write_private

    for node in NODES.values():
        (STATE_ROOT / node).mkdir(parents=True, exist_ok=True)
    KeyRing.load_or_create(KEY_FILE)
    pkis = [Pki.at(PKI_ROOT / cp) for cp in CONTROL_PLANES]
    if not all(p.ca_cert.exists() and p.ca_key.exists() for p in pkis):
        cert, key = make_ca()
        for pki in pkis:
            pki.ca_cert.parent.mkdir(parents=True, exist_ok=True)
            for stale in (pki.serving_cert, pki.serving_key):  # signed by another CA
                stale.unlink(missing_ok=True)
            write_private(pki.ca_key, key)
            pki.ca_cert.write_text(cert)


def pod_images() -> list[str]:
    """The tags of the images the bed's pods use (the examples' and tests' images of
    ``images/build.py``, not the bed's own), as present on the machine's engine."""
    from actors.kubelet.image_catalog import BUILDABLE, normalize

    tags = sorted({normalize(t) for tags in BUILDABLE.values() for t in tags})
    present = docker("image", "inspect", "-f", "{{range .RepoTags}}{{.}} {{end}}", *tags, check=False)
    have = set(present.split())
    return [t for t in tags if t in have]


def write_contexts() -> Path:
    """``admin@testbed`` (current) and ``viewer@testbed`` in the client config."""
    from cli import config as cfg

    data = cfg.load()
    for user, current in ((VIEWER, False), (ADMIN, True)):
        context = {"server": PLAIN_SERVERS[0], "user": user, "password": TESTBED_PASSWORDS[user]}
        cfg.set_context(data, f"{user}@testbed", context, current=current)
    return cfg.save(data)


NODE_ENGINES_FILE = "compose.node-engines.yaml"
NODE_IMAGES = ("node-base", "node")  # images/build.py's names of the node-engines bed's own images


def find_compose_file(node_engines: bool = False) -> Path:
    """compose.yaml (compose.node-engines.yaml) of the checkout this module runs from, else of the
    working directory up."""
    name = NODE_ENGINES_FILE if node_engines else "compose.yaml"
    candidates = [Path(__file__).resolve().parent.parent, *[Path.cwd(), *Path.cwd().parents]]
    for d in candidates:
        if (d / name).is_file() and (d / "images" / "build.py").is_file():
            return d / name
    raise ServiceUnavailable("compose.yaml not found: run from a jetkube checkout or pass --file")


def compose_command() -> list[str]:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):
        return ["docker", "compose"]
    raise ServiceUnavailable("neither docker-compose nor docker is installed")


def node_container_label(node: str) -> str:
    return f"{NODE_LABEL}={node}"


@dataclass
class Testbed:
    __test__ = False  # not a pytest test class, whatever its name

    compose_file: Path
    project: str = PROJECT

    @classmethod
    def find(cls, compose_file: Path | None = None, node_engines: bool = False) -> Testbed:
        return cls(compose_file or find_compose_file(node_engines))

    @property
    def node_engines(self) -> bool:
        """Whether this bed's nodes are hosts with engines of their own (compose.node-engines.yaml)."""
        return self.compose_file.name == NODE_ENGINES_FILE

    @property
    def root(self) -> Path:
        return self.compose_file.parent

    # ------------------------------------------------------------------ docker-compose

    def compose(self, *args: str, check: bool = True, timeout: float = 300) -> str:
        cmd = [*compose_command(), "-p", self.project, "-f", str(self.compose_file), *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        if check and proc.returncode != 0:
            raise ServiceUnavailable(
                f"{' '.join(cmd[:1])} {' '.join(args)} failed: {(proc.stderr or proc.stdout).strip()[-1500:]}"
            )
        return proc.stdout

    def container_id(self, service: str) -> str:
        """The id of the service's container ('' if it has none)."""
        return self.compose("ps", "-q", service).strip()

    def containers(self) -> list[dict[str, Any]]:
        """name, service, state of every container of the project (running or not)."""
        out = docker("ps", "-a", "--filter", f"label=com.docker.compose.project={self.project}",
                     "--format", "{{json .}}")  # fmt: skip
        rows = []
        for line in out.splitlines():
            item = json.loads(line)
            labels = dict(kv.split("=", 1) for kv in item.get("Labels", "").split(",") if "=" in kv)
            rows.append(
                {
                    "name": item["Names"],
                    "service": labels.get("com.docker.compose.service", ""),
                    "state": item.get("State", ""),
                    "status": item.get("Status", ""),
                    "ports": item.get("Ports", ""),
                }
            )
        return sorted(rows, key=lambda r: r["service"])

    # ------------------------------------------------------------------ lifecycle

    def build_images(self) -> list[Any]:
        """Every image the bed runs or its pods use (images/build.py, cached by recipe hash); the
        node images only for the node-engines bed."""
        if str(self.root) not in sys.path:
            sys.path.insert(0, str(self.root))
        from images.build import IMAGES, ensure_images

        names = None if self.node_engines else [n for n in IMAGES if n not in NODE_IMAGES]
        try:
            return ensure_images(names)
        except (RuntimeError, subprocess.CalledProcessError) as exc:
            raise ServiceUnavailable(f"building the test bed's images failed: {exc}") from exc

    def up(self, *, build: bool = True) -> None:
        """Start the bed. With node engines: the node hosts first, their engines loaded with the pods'
        images, then the rest (the kubelets find the images in place when the first pods come)."""
        if build:
            self.build_images()
        prepare_host()
        if not self.node_engines:
            self.compose("up", "-d", "--remove-orphans")
            self.attach_nodes_to_bridge()
            return
        self.compose("up", "-d", "--remove-orphans", *NODE_HOSTS.values())
        self.wait_engines()
        self.load_images()
        self.compose("up", "-d", "--remove-orphans")

    def attach_nodes_to_bridge(self) -> None:
        """Connect each node container (default bed) to the engine's default bridge as well.

        The kubelets put their pods' sandboxes on the default bridge of the host's engine, and
        Docker drops traffic from a user-defined network (the compose network) to that bridge. A
        kubelet's HTTP and TCP probes reach pod IPs, so the node needs an address on the bridge
        itself; the compose network stays its only way to NATS, so `docker network disconnect
        jetkube-testbed <node>` still cuts a node off from the cluster."""
        for service in NODES:
            cid = self.container_id(service)
            if not cid:
                continue
            nets = docker("inspect", "-f", "{{json .NetworkSettings.Networks}}", cid)
            if '"bridge"' not in nets:
                docker("network", "connect", "bridge", cid)

    def host_container(self, service: str) -> str:
        """The id of the node host of a kubelet service ("node1" -> node1-host's running container;
        found by the compose labels with one `docker ps`, quicker than `docker-compose ps`)."""
        host = NODE_HOSTS[service]
        cid = docker(
            "ps", "-q",
            "--filter", f"label=com.docker.compose.project={self.project}",
            "--filter", f"label=com.docker.compose.service={host}",
        ).split()  # fmt: skip
        if not cid:
            raise ServiceUnavailable(f"the test bed's {host} is not running (is the bed up?)")
        return cid[0]

    def node_docker(self, service: str, *args: str, check: bool = True, timeout: float = 120) -> str:
        """``docker ARGS`` against the engine of a node's host (``docker exec nodeN-host docker ...``)."""
        return docker("exec", self.host_container(service), "docker", *args, check=check, timeout=timeout)

    def restart_node(self, service: str) -> None:
        """Restart a node as a machine reboots: its host (the engine, whose pods stop with it), then
        its kubelet, which shares the host's network namespace and must join the new one."""
        docker("restart", "-t", "5", self.host_container(service))
        self.compose("restart", "-t", "5", service)

    def wait_engines(self, timeout: float = 120) -> None:
        """Until every node host's engine answers (docker-compose 1.29's ``up -d`` does not wait for
        the hosts' healthchecks); ServiceUnavailable naming the host after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        for service in NODE_HOSTS:
            while True:
                try:
                    self.node_docker(service, "version", "-f", "{{.Server.Version}}", timeout=10)
                    break
                except (ServiceUnavailable, subprocess.CalledProcessError, subprocess.TimeoutExpired):
                    if time.monotonic() >= deadline:
                        raise ServiceUnavailable(
                            f"the engine of {NODE_HOSTS[service]} did not answer within {timeout:g}s"
                        ) from None
                    time.sleep(1)

    def load_images(self, services: Sequence[str] | None = None) -> dict[str, list[str]]:
        """Copy the pods' images from the machine's engine into each node host's engine, those it
        lacks or holds at another id, with ``docker save | docker load`` (one save, one stream per
        node, in parallel). Returns node service -> the tags it was sent."""
        tags = pod_images()
        if not tags:
            return {}
        want = {
            t: i
            for t, i in zip(tags, docker("image", "inspect", "-f", "{{.Id}}", *tags).split(), strict=True)
        }

        def missing(service: str) -> list[str]:
            have = self.node_docker(service, "image", "inspect", "-f", "{{.Id}}", *tags, check=False).split()
            # inspect prints the ids of the images it finds, in order, and skips the missing ones
            if len(have) == len(tags) and have == [want[t] for t in tags]:
                return []
            return [t for t in tags if want[t] not in have]

        def load(service: str) -> list[str]:
            send = missing(service)
            if not send:
                return []
            host = self.host_container(service)
            with subprocess.Popen(["docker", "save", *send], stdout=subprocess.PIPE) as save:
                proc = subprocess.run(
                    ["docker", "exec", "-i", host, "docker", "load", "-q"],
                    stdin=save.stdout,
                    capture_output=True,
                    text=True,
                    timeout=600,
                    check=False,
                )
                assert save.stdout is not None
                save.stdout.close()
                save.wait(timeout=60)
            if proc.returncode != 0 or save.returncode != 0:
                raise ServiceUnavailable(
                    f"loading images into {NODE_HOSTS[service]}: {proc.stderr.strip()[-800:]}"
                )
            return send

        from concurrent.futures import ThreadPoolExecutor

        chosen = list(services or NODES)
        with ThreadPoolExecutor(max_workers=len(chosen)) as pool:
            return dict(zip(chosen, pool.map(load, chosen), strict=True))

    def down(self) -> None:
        """Remove the project, its volumes (with node engines: the hosts' engines and every pod
        container in them), the kubelets' containers and volumes on the machine's engine (default
        bed), and the state dirs."""
        self.compose("stop", "-t", "5", check=False)
        self.remove_pod_containers()
        self.compose("down", "-v", "--remove-orphans", "-t", "5", check=False)
        self.remove_pod_containers()
        # the other bed's node-host volumes, when it ran last (down -v removes this file's only)
        vols = [f"{self.project}_{s}-{v}" for s in NODES for v in ("docker", "run", "kubelet")]
        have = set(docker("volume", "ls", "-q", check=False).split())
        if left := [v for v in vols if v in have]:
            docker("volume", "rm", "-f", *left, check=False)
        shutil.rmtree(STATE_ROOT, ignore_errors=True)

    def remove_pod_containers(self, nodes: Sequence[str] | None = None) -> int:
        """Remove every container and volume labelled with one of the bed's node names from the
        machine's engine (where the default bed's kubelets run their pods)."""
        removed = 0
        for node in nodes or list(NODES.values()):
            ids = docker("ps", "-aq", "--filter", f"label={node_container_label(node)}").split()
            if ids:
                docker("rm", "-f", "-v", *ids, check=False)
                removed += len(ids)
            vols = docker("volume", "ls", "-q", "--filter", f"label={node_container_label(node)}").split()
            if vols:
                docker("volume", "rm", "-f", *vols, check=False)
        return removed

    def wait_ready(self, timeout: float = 120.0, nodes: int = len(NODES)) -> list[dict[str, Any]]:
        """Poll the bed until ``nodes`` nodes are Ready; return the nodes. Timeout otherwise."""
        return asyncio.run(wait_nodes_ready(SERVER, nodes, timeout))


def docker(*args: str, check: bool = True, timeout: float = 120) -> str:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise ServiceUnavailable(f"docker {' '.join(args[:2])} failed: {proc.stderr.strip()[-800:]}")
    return proc.stdout


def node_ready(node: dict[str, Any]) -> bool:
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


async def wait_nodes_ready(server: str, count: int, timeout: float) -> list[dict[str, Any]]:
    from bus.client import ApiClient
    from bus.connection import Bus

    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        try:
            bus = await Bus.connect(server, name="jetkube-testbed", connect_timeout=2)
            try:
                api = ApiClient(bus)
                while time.monotonic() < deadline:
                    items = (await api.list("nodes"))["items"]
                    ready = [n for n in items if node_ready(n)]
                    last = f"{len(ready)}/{len(items)} nodes Ready"
                    if len(ready) >= count:
                        return items
                    await asyncio.sleep(0.5)
            finally:
                await bus.close()
        except JetkubeError as err:
            last = err.message
            await asyncio.sleep(0.5)
    raise Timeout(f"the test bed did not get {count} Ready nodes within {timeout:g}s ({last})")


# ---------------------------------------------------------------------------------- commands

FileOpt = Annotated[Path | None, typer.Option("--file", "-f", help="compose.yaml of the test bed")]
NodeEnginesOpt = Annotated[
    bool,
    typer.Option(
        "--node-engines",
        help="Nodes as hosts: each its own Docker engine, proxy and network namespace, pods on the "
        "Flannel pod network (compose.node-engines.yaml).",
    ),
]

testbed_app = typer.Typer(
    name="testbed",
    help="The multi-node test bed (compose.yaml): 3 NATS servers, 2 control planes, 3 nodes.",
    no_args_is_help=True,
)


def _fail(err: JetkubeError) -> NoReturn:
    typer.echo(err.cli_line(), err=True)
    raise typer.Exit(1)


@testbed_app.command("up")
def up_cmd(
    file: FileOpt = None,
    node_engines: NodeEnginesOpt = False,
    build: Annotated[bool, typer.Option("--build/--no-build", help="Build the images first.")] = True,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait for 3 Ready nodes.")] = True,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for the nodes.")] = 180.0,
    sync_interval: Annotated[
        str,
        typer.Option(
            "--sync-interval",
            help="The NATS servers' fsync policy: 'always' (durable before acknowledged, the default) "
            "or a duration such as 2m (JETKUBE_SYNC_INTERVAL for compose).",
        ),
    ] = DEFAULT_SYNC_INTERVAL,
) -> None:
    """Build the images and start the test bed; wait until its three nodes are Ready."""
    try:
        from bus.embedded import check_sync_interval

        os.environ["JETKUBE_SYNC_INTERVAL"] = check_sync_interval(sync_interval)  # compose reads it
        bed = Testbed.find(file, node_engines)
        if build:
            for r in bed.build_images():
                if r.action != "cached":
                    typer.echo(f"image {r.tag}: {r.action} in {r.seconds:.1f}s")
        bed.up(build=False)
        typer.echo(f"test bed {PROJECT} started")
        if wait:
            t0 = time.monotonic()
            nodes = bed.wait_ready(timeout)
            typer.echo(f"{len(nodes)} nodes Ready after {time.monotonic() - t0:.1f}s")
    except JetkubeError as err:
        _fail(err)
    path = write_contexts()
    typer.echo(f"use it:  jetkube --context admin@testbed get nodes   (contexts in {path})")


@testbed_app.command("down")
def down_cmd(file: FileOpt = None, node_engines: NodeEnginesOpt = False) -> None:
    """Stop and remove the test bed: containers, volumes, its kubelets' pods, state dirs."""
    try:
        Testbed.find(file, node_engines).down()
    except JetkubeError as err:
        _fail(err)
    typer.echo(f"test bed {PROJECT} removed")


@testbed_app.command("status")
def status_cmd(file: FileOpt = None, node_engines: NodeEnginesOpt = False) -> None:
    """Show the test bed's containers and its nodes (`jetkube get nodes` against it)."""
    try:
        rows = Testbed.find(file, node_engines).containers()
    except JetkubeError as err:
        _fail(err)
    if not rows:
        typer.echo(f"test bed {PROJECT} is not running (start it with `jetkube testbed up`)")
        raise typer.Exit(1)
    width = max(len(r["name"]) for r in rows)
    typer.echo(f"{'CONTAINER':<{width}}  {'SERVICE':<14} {'STATE':<10} PORTS")
    for r in rows:
        typer.echo(f"{r['name']:<{width}}  {r['service']:<14} {r['state']:<10} {r['ports']}")
    typer.echo("\nnodes (jetkube --context admin@testbed get nodes):")
    proc = subprocess.run(
        [sys.executable, "-m", "cli.main", "--server", SERVER, "get", "nodes", "-o", "wide"],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
        check=False,
    )
    if proc.returncode != 0:
        raise typer.Exit(proc.returncode)


def register(app: typer.Typer) -> None:
    from cli.chaos.command import chaos_cmd

    testbed_app.command("chaos")(chaos_cmd)
    app.add_typer(testbed_app, name="testbed")
