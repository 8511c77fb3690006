"""The kubelet's CephFS volume plugin: mount a Ceph filesystem on the node, as Kubernetes' did.

The pod's ``cephfs`` volume (or a PersistentVolume's ``cephfs`` source) is mounted by the kubelet
at ``<state>/pods/<uid>/volumes/cephfs/<name>`` and bind-mounted into the containers like any host
directory, so the same code serves a kubelet on a host and one in a node container (it mounts in
its own mount namespace, where its engine resolves the binds):

- the **kernel client** (``mount -t ceph``) when the kernel knows the ``ceph`` filesystem
  (``/proc/filesystems``), else **ceph-fuse** (``/dev/fuse``); neither is a FailedMount that says
  which was missing;
- ``monitors`` (``host:port``; 6789 is msgr v1), ``user`` (default ``admin``), ``path`` (a
  subdirectory of the filesystem, default ``/``), ``readOnly``;
- the key: ``secretRef`` (a Secret whose ``data.key`` is the cephx key; written to a 0600 keyring
  beside the mount, never on a command line), else ``secretFile`` (a file on the node holding the
  bare key; default ``/etc/ceph/user.secret`` as Kubernetes');

A mount that went stale (ceph-fuse killed: ``ENOTCONN``) is lazily unmounted and made again on the
next sync. The pod's directory goes only once nothing is mounted under it (actors/kubelet/mounts.py).

The decisions (:func:`plan_mount`, :func:`mount_command`) are pure; :func:`ensure_mounted` runs them.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path
from typing import Literal

import structlog
from pydantic import BaseModel

from actors.kubelet import mounts
from actors.kubelet.mounts import run
from actors.kubelet.volume_files import MountError

log = structlog.get_logger(__name__)

DEFAULT_SECRET_FILE = "/etc/ceph/user.secret"
MOUNT_TIMEOUT = 45.0
Client = Literal["kernel", "fuse"]


class CephMount(BaseModel):
    """What to mount: the decisions taken from the volume source and the Secret's key."""

    monitors: list[str]
    user: str = "admin"
    path: str = "/"
    read_only: bool = False
    key: str | None = None  # from secretRef
    secret_file: str | None = None  # a file with the bare key, on the node


def plan_mount(source: dict[str, object], key: str | None) -> CephMount:
    """The mount a ``cephfs`` source asks for; ``key`` is its secretRef's key (already read)."""
    monitors = [str(m) for m in source.get("monitors") or []]  # type: ignore[attr-defined]
    if not monitors:
        raise MountError("CephFS: spec.cephfs.monitors: Required value")
    path = str(source.get("path") or "/")
    if not path.startswith("/"):
        path = "/" + path
    secret_file = None if key else str(source.get("secretFile") or DEFAULT_SECRET_FILE)
    return CephMount(
        monitors=monitors,
        user=str(source.get("user") or "admin"),
        path=path,
        read_only=bool(source.get("readOnly")),
        key=key,
        secret_file=secret_file,
    )


def mount_command(m: CephMount, client: Client, target: Path, keyring: Path | None) -> list[str]:
    """The command that mounts ``m`` on ``target``; ``keyring`` holds the key when it came from a
    Secret (the kernel client reads a bare key from ``secretfile=``, ceph-fuse a keyring)."""
    if client == "kernel":
        opts = [f"name={m.user}"]
        opts.append(f"secretfile={keyring if keyring is not None else m.secret_file}")
        opts.append("ro" if m.read_only else "rw")
        return ["mount", "-t", "ceph", f"{','.join(m.monitors)}:{m.path}", str(target), "-o", ",".join(opts)]
    cmd = ["ceph-fuse", "--conf", "/dev/null", "--id", m.user, "-m", ",".join(m.monitors)]
    cmd += ["--keyring", str(keyring)] if keyring is not None else ["--keyfile", str(m.secret_file)]
    cmd += ["--client_mountpoint", m.path, "--client_mount_timeout", "30", "--admin_socket", ""]
    cmd += ["--log_file", "", "--log_to_stderr", "true", "--err_to_stderr", "true"]
    cmd += [str(target)]
    if m.read_only:
        cmd += ["-o", "ro"]
    return cmd


def keyring_text(m: CephMount, client: Client) -> str:
    assert m.key is not None
    return f"{m.key}\n" if client == "kernel" else f"[client.{m.user}]\n\tkey = {m.key}\n"


def available_client() -> Client:
    """The kernel client when the kernel has ceph, else ceph-fuse; MountError if neither."""
    try:
        with open("/proc/filesystems") as fh:
            kernel = any(line.split()[-1:] == ["ceph"] for line in fh)
    except OSError:
        kernel = False
    if kernel and shutil.which("mount"):
        return "kernel"
    if shutil.which("ceph-fuse") and os.path.exists("/dev/fuse"):
        return "fuse"
    raise MountError(
        "CephFS: no client on this node: the kernel has no ceph filesystem (/proc/filesystems) and "
        + ("ceph-fuse is not installed" if not shutil.which("ceph-fuse") else "/dev/fuse is missing")
    )


def _healthy_mount(target: Path) -> bool | None:
    """True: mounted and answering; False: mounted but stale; None: not mounted."""
    if not os.path.ismount(target):
        try:
            os.stat(target)
        except OSError:
            return False  # a dead FUSE mount: ismount() fails on it too
        return None
    try:
        os.listdir(target)
    except OSError:
        return False
    return True


async def ensure_mounted(m: CephMount, target: Path, key_dir: Path) -> str:
    """Mount ``m`` on ``target`` unless it already is (a stale mount is made again)."""
    state = await asyncio.to_thread(_healthy_mount, target)
    if state is True:
        return str(target)
    if state is False:
        await mounts.unmount(str(target))
    client = available_client()
    await asyncio.to_thread(target.mkdir, 0o755, True, True)
    keyring: Path | None = None
    if m.key is not None:
        await asyncio.to_thread(key_dir.mkdir, 0o700, True, True)
        keyring = key_dir / ("secret" if client == "kernel" else f"ceph.client.{m.user}.keyring")
        fd = os.open(keyring, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(keyring_text(m, client))
    elif not await asyncio.to_thread(os.path.exists, str(m.secret_file)):
        raise MountError(f"CephFS: secretFile {m.secret_file} does not exist on this node")
    rc, out = await run(mount_command(m, client, target, keyring), MOUNT_TIMEOUT)
    if rc != 0:
        tail = " ".join(out.splitlines()[-3:])[-400:]
        raise MountError(
            f"CephFS: mount failed ({'ceph-fuse' if client == 'fuse' else 'mount -t ceph'}, "
            f"monitors {','.join(m.monitors)}, path {m.path}): {tail or f'exit {rc}'}"
        )
    log.info("cephfs.mounted", target=str(target), client=client, path=m.path, read_only=m.read_only)
    return str(target)
