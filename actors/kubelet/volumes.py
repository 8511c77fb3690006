"""Pod volumes on the engine's host: set up before the containers start, refreshed on each sync.

Where each kind lives (``<state>/pods/<uid>/volumes/<kind>/<name>``, bind-mounted into the
containers that mount it):

- ``emptyDir``: a directory; ``medium: Memory`` mounts a tmpfs on it (sizeLimit honoured);
- ``hostPath``: the host path itself (``DirectoryOrCreate``/``FileOrCreate`` create it;
  ``Directory``/``File`` must exist);
- ``configMap``, ``secret``, ``downwardAPI``, ``projected``: files written by the atomic writer
  from what :mod:`volume_files` computes. Each sync fetches the referenced objects again and
  rewrites only what changed, so a ConfigMap/Secret update or a label patch reaches running
  containers within one resync period (Kubernetes' kubelet does the same with a cache TTL);
- ``persistentVolumeClaim``: the claim must be Bound; its PersistentVolume's source is mounted as
  that source would be (``hostPath``: created when ``DirectoryOrCreate``, as local-path volumes
  are; ``local``: the directory must exist; ``nfs``, ``cephfs``: as below). The claim's
  ``readOnly`` makes every mount of it read-only;
- ``cephfs``: mounted by the kubelet's CephFS plugin (:mod:`actors.kubelet.cephfs`: the kernel
  client, else ceph-fuse) under the pod's directory; its ``readOnly`` makes every bind read-only.
  A runtime without ``host_mounts`` (FakeRuntime: hollow nodes) gets an engine volume it records
  instead, so a simulated node never mounts anything on the host;
- ``nfs``: an engine volume of the local driver (``type=nfs``) that the engine mounts at container
  start. The servers of both are checked first (a TCP connect with a short timeout; a Ceph monitor
  must greet as one), so an unreachable cluster is a prompt FailedMount naming the monitors
  instead of a mount hanging.

``subPath`` mounts a directory inside the volume (made if missing); ``subPathExpr`` is expanded
with the container's environment (``$(POD_NAME)``) when the volumes are set up. Both are passed
to :meth:`VolumeManager.mounts` inside the mapping :meth:`VolumeManager.setup` returns, under keys
no volume name can have (``@ro:<volume>``, ``@subpath:<container>:<mountPath>``).

Failures raise :class:`~actors.kubelet.volume_files.MountError`; the kubelet emits FailedMount
and retries with back-off. :meth:`VolumeManager.teardown` undoes everything once the pod's
containers are gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import structlog

from actors.kubelet import cephfs
from actors.kubelet import labels as L
from actors.kubelet import volume_files as vf
from actors.kubelet.atomic_writer import write_atomic
from actors.kubelet.cri import ContainerRuntime
from actors.kubelet.sa_tokens import TokenCache, token_sources
from actors.kubelet.types import Mount
from bus.interfaces import ObjectApi
from schemas.errors import JetkubeError, NotFound

log = structlog.get_logger(__name__)

Obj = dict[str, Any]
REACH_TIMEOUT = 1.5
READ_ONLY_KEY = "@ro:"
SUBPATH_KEY = "@subpath:"


async def fetch_objects(
    api: ObjectApi, namespace: str, refs: set[tuple[str, str]]
) -> dict[tuple[str, str], Obj | None]:
    """Get each (kind, name) from the api; None for those that do not exist."""

    async def one(kind: str, name: str) -> Obj | None:
        try:
            obj: Obj = await api.get(kind, name, namespace)
            return obj
        except NotFound:
            return None

    refs_list = sorted(refs)
    got = await asyncio.gather(*(one(k, n) for k, n in refs_list))
    return dict(zip(refs_list, got, strict=True))


async def reachable(addr: str, default_port: int, banner: bytes = b"") -> bool:
    """Whether a server answers at ``addr`` (and greets with ``banner``, when given: a Ceph
    monitor says ``ceph v...`` first, which tells it apart from a proxy accepting anything)."""
    host, _, port = addr.rpartition(":") if ":" in addr else (addr, "", str(default_port))
    try:
        async with asyncio.timeout(REACH_TIMEOUT):
            r, w = await asyncio.open_connection(host.strip("[]"), int(port or default_port))
            try:
                if banner and not (await r.read(len(banner))).startswith(banner):
                    return False
            finally:
                w.close()
    except (OSError, TimeoutError, ValueError):
        return False
    with contextlib.suppress(OSError):
        await w.wait_closed()
    return True


class VolumeManager:
    def __init__(self, runtime: ContainerRuntime, api: ObjectApi, node_name: str) -> None:
        self.runtime = runtime
        self.api = api
        self.node_name = node_name
        self.tokens = TokenCache(api)
        self._tmpfs: set[str] = set()

    def volume_dir(self, uid: str, kind: str, name: str) -> Path:
        return self.runtime.pod_dir(uid) / "volumes" / kind / name

    async def setup(self, pod: Obj) -> dict[str, str]:
        """Make every volume of the pod ready; {volume name: host path or engine volume name}."""
        meta = pod["metadata"]
        uid = str(meta["uid"])
        namespace = str(meta.get("namespace") or "default")
        volumes = (pod.get("spec") or {}).get("volumes") or []
        refs: set[tuple[str, str]] = set()
        for v in volumes:
            refs |= vf.referenced_objects(v)
        objects = await fetch_objects(self.api, namespace, refs) if refs else {}
        if any(token_sources(v) for v in volumes):
            objects = {**objects, **await self.tokens.tokens_for(pod)}
        out: dict[str, str] = {}
        for v in volumes:
            name = str(v["name"])
            try:
                out[name] = await self._one(pod, uid, v, objects)
            except vf.MountError as err:
                raise vf.MountError(f'MountVolume.SetUp failed for volume "{name}" : {err.message}') from err
            except OSError as err:
                raise vf.MountError(f'MountVolume.SetUp failed for volume "{name}" : {err}') from err
            if any((v.get(kind) or {}).get("readOnly") for kind in ("persistentVolumeClaim", "cephfs")):
                out[READ_ONLY_KEY + name] = "true"
        out.update(await self._subpath_exprs(pod))
        return out

    async def _subpath_exprs(self, pod: Obj) -> dict[str, str]:
        """Every ``subPathExpr`` of the pod's containers, expanded with the container's env."""
        from actors.kubelet.envvars import ContainerConfigError, expand, referenced_objects, resolve_env

        out: dict[str, str] = {}
        spec = pod.get("spec") or {}
        namespace = str(pod["metadata"].get("namespace") or "default")
        for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
            exprs = [m for m in c.get("volumeMounts") or [] if m.get("subPathExpr")]
            if not exprs:
                continue
            refs = referenced_objects(c)
            objects = await fetch_objects(self.api, namespace, refs) if refs else {}
            try:
                env = dict(resolve_env(pod, c, objects))
            except ContainerConfigError as err:
                raise vf.MountError(f"subPathExpr of container {c['name']}: {err.message}") from err
            for m in exprs:
                value = expand(str(m["subPathExpr"]), env)
                if value.startswith("/") or ".." in value.split("/"):
                    raise vf.MountError(
                        f"subPathExpr {m['subPathExpr']!r} of container {c['name']} expanded to "
                        f"{value!r}: must be a relative path without '..'"
                    )
                out[f"{SUBPATH_KEY}{c['name']}:{m['mountPath']}"] = value
        return out

    async def _one(self, pod: Obj, uid: str, v: Obj, objects: Mapping[tuple[str, str], Obj | None]) -> str:
        name = str(v["name"])
        files = vf.volume_files(v, pod, objects)
        if files is not None:
            d = self.volume_dir(uid, "files", name)
            changed = await asyncio.to_thread(write_atomic, d, files)
            if changed:
                log.debug("volume.files_written", pod=pod["metadata"]["name"], volume=name)
            return str(d)
        if "emptyDir" in v:
            d = self.volume_dir(uid, "empty-dir", name)
            await asyncio.to_thread(d.mkdir, 0o777, True, True)
            if (v.get("emptyDir") or {}).get("medium") == "Memory":
                await self._tmpfs_mount(d, (v.get("emptyDir") or {}).get("sizeLimit"))
            else:
                await asyncio.to_thread(os.chmod, d, 0o777)
            return str(d)
        if "hostPath" in v:
            return await asyncio.to_thread(_host_path, v["hostPath"] or {})
        if "cephfs" in v:
            return await self._cephfs(uid, name, v["cephfs"] or {}, pod)
        if "nfs" in v:
            return await self._nfs(uid, name, v["nfs"] or {})
        if "persistentVolumeClaim" in v:
            return await self._claim(pod, uid, name, v["persistentVolumeClaim"] or {})
        kinds = [k for k in v if k != "name"]
        raise vf.MountError(f"volume type {kinds[0] if kinds else '?'} is not supported by jetkube")

    async def _tmpfs_mount(self, d: Path, size: Any) -> None:
        if str(d) in self._tmpfs or await asyncio.to_thread(os.path.ismount, d):
            self._tmpfs.add(str(d))
            return
        opts = "mode=1777"
        if size:
            from schemas.quantity import to_bytes

            opts += f",size={to_bytes(size)}"
        proc = await asyncio.create_subprocess_exec(
            "mount",
            "-t",
            "tmpfs",
            "-o",
            opts,
            "tmpfs",
            str(d),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await proc.communicate()
        if proc.returncode != 0:
            raise vf.MountError(f"mount tmpfs on {d} failed: {err.decode().strip()}")
        self._tmpfs.add(str(d))

    def _labels(self, uid: str) -> dict[str, str]:
        return {L.NODE: self.node_name, L.POD_UID: uid}

    async def _claim(self, pod: Obj, uid: str, name: str, source: Obj) -> str:
        """Mount a claim through its bound PersistentVolume's source."""
        claim_name = str(source.get("claimName") or "")
        namespace = str(pod["metadata"].get("namespace") or "default")
        try:
            claim = await self.api.get("persistentvolumeclaims", claim_name, namespace)
        except NotFound:
            raise vf.MountError(f'persistentvolumeclaim "{claim_name}" not found') from None
        volume_name = (claim.get("spec") or {}).get("volumeName")
        if not volume_name or (claim.get("status") or {}).get("phase") != "Bound":
            raise vf.MountError(f'persistentvolumeclaim "{claim_name}" is not bound yet')
        try:
            volume = await self.api.get("persistentvolumes", volume_name)
        except NotFound:
            raise vf.MountError(f'persistentvolume "{volume_name}" not found') from None
        spec = volume.get("spec") or {}
        if spec.get("hostPath"):
            return await asyncio.to_thread(_host_path, spec["hostPath"])
        if spec.get("local"):
            path = str(spec["local"].get("path") or "")
            if not await asyncio.to_thread(os.path.exists, path):
                raise vf.MountError(f"local volume {volume_name}: path {path} does not exist")
            return path
        if spec.get("nfs"):
            return await self._nfs(uid, name, spec["nfs"])
        if spec.get("cephfs"):
            ceph = dict(spec["cephfs"])
            secret_ns = (ceph.get("secretRef") or {}).get("namespace")
            return await self._cephfs(uid, name, ceph, pod, secret_namespace=secret_ns)
        raise vf.MountError(f"persistentvolume {volume_name}: its volume source is not supported by jetkube")

    async def _cephfs(
        self, uid: str, name: str, spec: Obj, pod: Obj, secret_namespace: str | None = None
    ) -> str:
        """Mount through the CephFS plugin (actors/kubelet/cephfs.py) after a quick monitor check."""
        monitors = [str(m) for m in spec.get("monitors") or []]
        checks = await asyncio.gather(*(reachable(m, 6789, banner=b"ceph v") for m in monitors))
        if not monitors or not any(checks):
            raise vf.MountError(
                f"CephFS: mount failed: no ceph monitor answered at {','.join(monitors) or '(none)'}"
            )
        key: str | None = None
        secret_name = (spec.get("secretRef") or {}).get("name")
        if secret_name:
            objs = await fetch_objects(
                self.api,
                secret_namespace or pod["metadata"].get("namespace") or "default",
                {("secrets", secret_name)},
            )
            sec = objs[("secrets", secret_name)]
            if sec is None:
                raise vf.MountError(f'secret "{secret_name}" not found')
            import base64

            key = base64.b64decode((sec.get("data") or {}).get("key", "")).decode().strip()
            if not key:
                raise vf.MountError(f'secret "{secret_name}": data.key is empty (it must hold the cephx key)')
        plan = cephfs.plan_mount(spec, key)
        if not getattr(self.runtime, "host_mounts", False):  # a hollow node: nothing on the host
            device = f"{','.join(plan.monitors)}:{plan.path}"
            opts = {"type": "ceph", "device": device, "o": f"name={plan.user}"}
            return await self.runtime.ensure_volume(f"jk-{uid[:8]}-{name}", opts, self._labels(uid))
        return await cephfs.ensure_mounted(
            plan, self.volume_dir(uid, "cephfs", name), self.volume_dir(uid, "cephfs-keys", name)
        )

    async def _nfs(self, uid: str, name: str, spec: Obj) -> str:
        server = str(spec.get("server") or "")
        if not await reachable(server, 2049):
            raise vf.MountError(f"NFS: mount failed: server {server} is unreachable")
        opts = f"addr={server}" + (",ro" if spec.get("readOnly") else ",rw") + ",nfsvers=4"
        driver_opts = {"type": "nfs", "device": f":{spec.get('path') or '/'}", "o": opts}
        return await self.runtime.ensure_volume(f"jk-{uid[:8]}-{name}", driver_opts, self._labels(uid))

    @staticmethod
    def mounts(container: Obj, volumes: Mapping[str, str]) -> list[Mount]:
        """The container's volumeMounts as binds of what :meth:`setup` returned."""
        out: list[Mount] = []
        for m in container.get("volumeMounts") or []:
            src = volumes.get(str(m.get("name")))
            if src is None:
                continue
            sub_path = m.get("subPath") or volumes.get(
                f"{SUBPATH_KEY}{container.get('name')}:{m.get('mountPath')}"
            )
            if sub_path and src.startswith("/"):
                src = str(Path(src) / str(sub_path))
                Path(src).mkdir(parents=True, exist_ok=True) if not Path(src).exists() else None
            read_only = bool(m.get("readOnly")) or READ_ONLY_KEY + str(m.get("name")) in volumes
            prop = {"HostToContainer": "rslave", "Bidirectional": "rshared"}.get(
                str(m.get("mountPropagation") or ""), ""
            )
            out.append(Mount(src, str(m["mountPath"]), read_only, prop))
        return out

    async def teardown(self, uid: str) -> None:
        """Unmount tmpfs volumes, remove engine volumes and the pod's directory."""
        self.tokens.forget(uid)
        base = str(self.runtime.pod_dir(uid))
        for d in [d for d in self._tmpfs if d.startswith(base + "/")]:
            proc = await asyncio.create_subprocess_exec(
                "umount", d, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
            )
            await proc.wait()
            self._tmpfs.discard(d)
        with contextlib.suppress(JetkubeError):
            await self.runtime.remove_volumes(self.node_name, uid)
        await self.runtime.remove_pod_dir(uid)  # unmounts what is left under it first (mounts.py)


def _host_path(spec: Obj) -> str:
    path = str(spec.get("path") or "")
    kind = str(spec.get("type") or "")
    p = Path(path)
    if kind == "DirectoryOrCreate":
        p.mkdir(parents=True, exist_ok=True, mode=0o755)
    elif kind == "FileOrCreate":
        p.parent.mkdir(parents=True, exist_ok=True)
        p.touch(exist_ok=True)
    elif kind == "Directory" and not p.is_dir():
        raise vf.MountError(f"hostPath type check failed: {path} is not a directory")
    elif kind == "File" and not p.is_file():
        raise vf.MountError(f"hostPath type check failed: {path} is not a file")
    elif kind == "Socket" and not p.is_socket():
        raise vf.MountError(f"hostPath type check failed: {path} is not a socket file")
    return path
