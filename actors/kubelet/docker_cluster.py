"""A cluster's containers on the local engine, found by their cluster id label: what ``jetkube down``
lists and removes (part of the Docker runtime: the only modules that import aiodocker)."""

from __future__ import annotations

from typing import Any

from actors.kubelet import labels as L
from schemas.errors import ServiceUnavailable


async def cluster_containers(cid: str, *, running_only: bool = False) -> list[dict[str, Any]]:
    """The engine's containers labelled with cluster id ``cid`` (running ones, or all)."""
    import aiodocker

    try:
        docker = aiodocker.Docker()
    except (aiodocker.DockerError, ValueError, OSError) as exc:
        raise ServiceUnavailable(f"no Docker engine answered: {exc}") from exc
    try:
        found = await docker.containers.list(all=not running_only, filters={"label": [f"{L.CLUSTER}={cid}"]})
        return [c._container for c in found]
    except (aiodocker.DockerError, OSError) as exc:
        raise ServiceUnavailable(f"no Docker engine answered: {exc}") from exc
    finally:
        await docker.close()


async def remove_cluster_containers(cid: str) -> int:
    """Remove (force, with anonymous volumes) every container of cluster ``cid``; how many.
    App containers first, then the sandboxes whose network they joined."""
    import aiodocker

    found = await cluster_containers(cid)
    found.sort(key=lambda c: (c.get("Labels") or {}).get(L.TYPE) == L.TYPE_SANDBOX)
    docker = aiodocker.Docker()
    removed = 0
    try:
        for c in found:
            try:
                await docker.containers.container(c["Id"]).delete(force=True, v=True)
                removed += 1
            except aiodocker.DockerError as exc:
                if exc.status != 404:  # already gone is fine
                    raise ServiceUnavailable(f"removing container {c['Id'][:12]}: {exc.message}") from exc
    finally:
        await docker.close()
    return removed
