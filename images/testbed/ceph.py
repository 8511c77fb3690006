"""The ``ceph`` image of the test bed's ``ceph`` profile: a one-container Ceph cluster (Pacific 16.2).

    ceph           debootstrap --variant=minbase bookworm, then Debian's ceph-mon, ceph-mgr,
                   ceph-osd, ceph-mds, ceph-common and ceph-fuse (apt-get in the rootfs, on the
                   host, before import); the rootfs tarball is cached in images/.cache/.
                   A small layer adds ceph-bootstrap.sh (the entrypoint), so editing the script
                   costs seconds, not a new rootfs.

The script (images/testbed/ceph-bootstrap.sh) makes a monitor, a manager, one OSD on a
file-backed BlueStore and one MDS, then a CephFS named ``cephfs``, all in the container.
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
CEPH_TAG = "jetkube/ceph:pacific"
CEPH_PACKAGES = ["ceph-mon", "ceph-mgr", "ceph-osd", "ceph-mds", "ceph-common", "ceph-fuse", "procps"]
DOCKERFILE = """\
ARG BASE=jetkube/ceph-rootfs:pacific
FROM ${BASE}
COPY ceph-bootstrap.sh /usr/local/bin/ceph-bootstrap
RUN chmod 0755 /usr/local/bin/ceph-bootstrap
ENTRYPOINT ["/usr/local/bin/ceph-bootstrap"]
"""
ROOTFS_TAG = "jetkube/ceph-rootfs:pacific"

Plan = Callable[[], tuple[list[bytes], Callable[[str], None]]]


def _strip(rootfs: Path) -> None:
    for rel in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man"):
        d = rootfs / rel
        for child in d.iterdir() if d.is_dir() else []:
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            elif child.name not in ("lock", "partial"):
                child.unlink()


def ceph_rootfs_tarball(b: ModuleType, recipe: str) -> Path:
    """debootstrap minbase, then apt-get install the Ceph packages inside it (no daemons started)."""
    tarball = b.CACHE / f"ceph-{b.DEBIAN_SUITE}-{recipe[:16]}.tar"
    if tarball.exists():
        return tarball
    b.need_packages(["debootstrap"])
    rootfs = b.CACHE / f"ceph-rootfs-{recipe[:16]}"
    shutil.rmtree(rootfs, ignore_errors=True)
    mirror = b.debian_mirror()
    try:
        b.run(["debootstrap", "--variant=minbase", b.DEBIAN_SUITE, str(rootfs), mirror])
        (rootfs / "etc/apt/sources.list").write_text(f"deb {mirror} {b.DEBIAN_SUITE} main\n")
        shutil.copy2("/etc/resolv.conf", rootfs / "etc/resolv.conf")
        policy = rootfs / "usr/sbin/policy-rc.d"  # no service starts inside the chroot
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
        env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"}
        for cmd in (
            ["apt-get", "update", "-q"],
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", *CEPH_PACKAGES],
        ):
            proc = subprocess.run(["chroot", str(rootfs), *cmd], env=env, capture_output=True, check=False)
            if proc.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd)} in the ceph rootfs: {proc.stderr.decode()[-2000:]}")
        policy.unlink()
        _strip(rootfs)
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


def plan_ceph(b: ModuleType) -> Plan:
    def plan() -> tuple[list[bytes], Callable[[str], None]]:
        script = (HERE / "ceph-bootstrap.sh").read_bytes()
        rootfs_inputs = f"debootstrap minbase {b.DEBIAN_SUITE} + apt {sorted(CEPH_PACKAGES)}".encode()
        inputs = [rootfs_inputs, DOCKERFILE.encode(), script]

        def build(recipe: str) -> None:
            rootfs_recipe = b.sha([rootfs_inputs])
            tarball = ceph_rootfs_tarball(b, rootfs_recipe)
            for stale in b.CACHE.glob(f"ceph-{b.DEBIAN_SUITE}-*.tar"):
                if stale != tarball:
                    stale.unlink()
            have = b.image_labels([ROOTFS_TAG]).get(ROOTFS_TAG)
            if not have or have[1] != rootfs_recipe:
                cmd = ["docker", "import"]
                for change in (
                    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "ENV LANG=C.UTF-8",
                    f"LABEL {b.LABEL}={rootfs_recipe}",
                ):
                    cmd += ["--change", change]
                b.run([*cmd, str(tarball), ROOTFS_TAG])
            ctx = b.fresh_context("ceph")
            shutil.copy2(HERE / "ceph-bootstrap.sh", ctx / "ceph-bootstrap.sh")
            (ctx / "Dockerfile").write_text(DOCKERFILE)
            label = f"{b.LABEL}={recipe}"
            b.run(["docker", "build", "-q", "--network", "none", "--label", label, "-t", CEPH_TAG, str(ctx)])

        return inputs, build

    return plan
