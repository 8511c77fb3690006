"""The files of configMap, secret, downwardAPI and projected volumes. No I/O.

Each function returns ``{relative path: (content bytes, file mode)}`` for one volume, from the
objects the kubelet fetched (``None`` when one does not exist). A missing non-optional object or
key raises :class:`MountError` with Kubernetes' text; the kubelet reports it as a FailedMount
event (``MountVolume.SetUp failed for volume "v" : <message>``) and keeps the pod waiting.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from actors.kubelet.downward import field_ref_value
from actors.kubelet.envvars import resource_field_value
from schemas.errors import JetkubeError

Obj = dict[str, Any]
Files = dict[str, tuple[bytes, int]]
Objects = Mapping[tuple[str, str], Obj | None]

DEFAULT_MODE = 0o644


class MountError(JetkubeError):
    """A volume cannot be set up (FailedMount)."""

    code = 422
    reason = "FailedMount"


def referenced_objects(volume: Mapping[str, Any]) -> set[tuple[str, str]]:
    """(kind, name) of the ConfigMaps and Secrets a volume needs."""
    refs: set[tuple[str, str]] = set()
    if volume.get("configMap"):
        refs.add(("configmaps", str(volume["configMap"].get("name") or "")))
    if volume.get("secret"):
        refs.add(("secrets", str(volume["secret"].get("secretName") or "")))
    for src in (volume.get("projected") or {}).get("sources") or []:
        if src.get("configMap"):
            refs.add(("configmaps", str(src["configMap"].get("name") or "")))
        if src.get("secret"):
            refs.add(("secrets", str(src["secret"].get("name") or "")))
    return refs


def _raw_data(kind: str, obj: Obj) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    if kind == "secrets":
        for k, v in (obj.get("data") or {}).items():
            out[k] = base64.b64decode(v)
        for k, v in (obj.get("stringData") or {}).items():
            out[k] = str(v).encode()
        return out
    for k, v in (obj.get("binaryData") or {}).items():
        out[k] = base64.b64decode(v)
    for k, v in (obj.get("data") or {}).items():
        out[k] = str(v).encode()
    return out


def key_files(
    kind: str,
    name: str,
    obj: Obj | None,
    items: list[Obj] | None,
    default_mode: int | None,
    optional: bool,
) -> Files:
    """Files of one ConfigMap or Secret: every key, or the listed ``items`` (key -> path, mode)."""
    word = "configmap" if kind == "configmaps" else "secret"
    if obj is None:
        if optional:
            return {}
        raise MountError(f'{word} "{name}" not found')
    data = _raw_data(kind, obj)
    mode = DEFAULT_MODE if default_mode is None else int(default_mode)
    if not items:
        return {k: (v, mode) for k, v in data.items()}
    files: Files = {}
    for item in items:
        key = str(item.get("key") or "")
        if key not in data:
            if optional:
                continue
            raise MountError(
                f"{word} references non-existent {'config ' if word == 'configmap' else ''}key: {key}"
            )
        files[str(item.get("path") or key)] = (
            data[key],
            int(item["mode"]) if item.get("mode") is not None else mode,
        )
    return files


def downward_files(pod: Obj, items: list[Obj] | None, default_mode: int | None) -> Files:
    mode = DEFAULT_MODE if default_mode is None else int(default_mode)
    spec = pod.get("spec") or {}
    containers = [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]
    files: Files = {}
    for item in items or []:
        item_mode = int(item["mode"]) if item.get("mode") is not None else mode
        if item.get("fieldRef"):
            text = field_ref_value(pod, str(item["fieldRef"].get("fieldPath") or ""))
        elif item.get("resourceFieldRef"):
            ref = item["resourceFieldRef"]
            target: Obj = next((c for c in containers if c.get("name") == ref.get("containerName")), {})
            text = resource_field_value(target, ref)
        else:
            continue
        files[str(item["path"])] = (text.encode(), item_mode)
    return files


def volume_files(volume: Mapping[str, Any], pod: Obj, objects: Objects) -> Files | None:
    """The files of a file-projecting volume, or None for other kinds (emptyDir, hostPath ...)."""
    if volume.get("configMap") is not None:
        cm = volume["configMap"]
        name = str(cm.get("name") or "")
        return key_files(
            "configmaps",
            name,
            objects.get(("configmaps", name)),
            cm.get("items"),
            cm.get("defaultMode"),
            bool(cm.get("optional")),
        )
    if volume.get("secret") is not None:
        sec = volume["secret"]
        name = str(sec.get("secretName") or "")
        return key_files(
            "secrets",
            name,
            objects.get(("secrets", name)),
            sec.get("items"),
            sec.get("defaultMode"),
            bool(sec.get("optional")),
        )
    if volume.get("downwardAPI") is not None:
        dapi = volume["downwardAPI"]
        return downward_files(pod, dapi.get("items"), dapi.get("defaultMode"))
    if volume.get("projected") is not None:
        proj = volume["projected"]
        mode = proj.get("defaultMode")
        files: Files = {}
        for src in proj.get("sources") or []:
            if src.get("configMap"):
                s = src["configMap"]
                name = str(s.get("name") or "")
                files.update(
                    key_files(
                        "configmaps",
                        name,
                        objects.get(("configmaps", name)),
                        s.get("items"),
                        mode,
                        bool(s.get("optional")),
                    )
                )
            elif src.get("secret"):
                s = src["secret"]
                name = str(s.get("name") or "")
                files.update(
                    key_files(
                        "secrets",
                        name,
                        objects.get(("secrets", name)),
                        s.get("items"),
                        mode,
                        bool(s.get("optional")),
                    )
                )
            elif src.get("downwardAPI"):
                files.update(downward_files(pod, src["downwardAPI"].get("items"), mode))
            elif src.get("serviceAccountToken"):
                path = str(src["serviceAccountToken"].get("path") or "token")
                got = objects.get(("serviceaccounttokens", f"{volume.get('name')}/{path}"))
                if got is None:
                    raise MountError(f'failed to fetch token: the api refused a token for "{path}"')
                files[path] = (str(got["token"]).encode(), DEFAULT_MODE if mode is None else int(mode))
        return files
    return None
