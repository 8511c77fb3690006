"""Volume rules: exactly one source, per-source required fields, items, modes."""

from __future__ import annotations

from typing import Any

from schemas.errors import FieldError
from schemas.models.volumes import VOLUME_SOURCES
from schemas.validation.errors import forbidden, invalid, required, unsupported
from schemas.validation.fieldrefs import VOLUME_FIELD_PATHS, field_ref_errors


def volume_source_errors(v: dict[str, Any], path: str, out: list[FieldError]) -> None:
    kinds = [k for k in VOLUME_SOURCES if k in v]
    if not kinds:
        out.append(required(path, "must specify a volume type"))
        return
    if len(kinds) > 1:
        out.append(forbidden(f"{path}.{kinds[1]}", "may not specify more than 1 volume type"))
    src = v[kinds[0]]
    kind = kinds[0]
    p = f"{path}.{kind}"
    mode = src.get("defaultMode")
    if mode is not None and not 0 <= mode <= 0o777:
        out.append(
            invalid(f"{p}.defaultMode", mode, "must be a number between 0 and 0777 (octal), both inclusive")
        )
    if kind == "emptyDir":
        medium = src.get("medium")
        if medium not in (None, "", "Memory") and not str(medium).startswith("HugePages"):
            out.append(unsupported(f"{p}.medium", medium, ["", "Memory", "HugePages"]))
    elif kind == "hostPath":
        if not src["path"]:
            out.append(required(f"{p}.path"))
        t = src.get("type")
        allowed = (
            "",
            "DirectoryOrCreate",
            "Directory",
            "FileOrCreate",
            "File",
            "Socket",
            "CharDevice",
            "BlockDevice",
        )
        if t is not None and t not in allowed:
            out.append(unsupported(f"{p}.type", t, allowed))
    elif kind == "configMap":
        if not src.get("name"):
            out.append(required(f"{p}.name"))
        _items(src.get("items"), f"{p}.items", out)
    elif kind == "secret":
        if not src.get("secretName"):
            out.append(required(f"{p}.secretName"))
        _items(src.get("items"), f"{p}.items", out)
    elif kind == "downwardAPI":
        _downward_items(src.get("items"), f"{p}.items", out)
    elif kind == "projected":
        for i, s in enumerate(src.get("sources") or ()):
            sp = f"{p}.sources[{i}]"
            given = [
                k
                for k in ("secret", "configMap", "downwardAPI", "serviceAccountToken", "clusterTrustBundle")
                if k in s
            ]
            if len(given) != 1:
                out.append(
                    forbidden(
                        sp,
                        "may not specify more than 1 volume type per source"
                        if given
                        else "must specify exactly one volume type",
                    )
                )
            for key in ("secret", "configMap"):
                if key in s:
                    _items(s[key].get("items"), f"{sp}.{key}.items", out)
            if "downwardAPI" in s:
                _downward_items(s["downwardAPI"].get("items"), f"{sp}.downwardAPI.items", out)
    elif kind == "cephfs":
        if not src["monitors"]:
            out.append(required(f"{p}.monitors"))
    elif kind == "nfs":
        if not src["server"]:
            out.append(required(f"{p}.server"))
        if not src["path"]:
            out.append(required(f"{p}.path"))
        elif not src["path"].startswith("/"):
            out.append(invalid(f"{p}.path", src["path"], "must be an absolute path"))
    elif kind == "persistentVolumeClaim":
        if not src["claimName"]:
            out.append(required(f"{p}.claimName"))


def _relative_path(path_value: str, path: str, out: list[FieldError]) -> None:
    if not path_value:
        out.append(required(path))
    elif path_value.startswith("/"):
        out.append(invalid(path, path_value, "must be a relative path"))
    elif ".." in path_value.split("/"):
        out.append(invalid(path, path_value, "must not contain '..'"))


def _items(items: list[dict[str, Any]] | None, path: str, out: list[FieldError]) -> None:
    for i, it in enumerate(items or ()):
        if not it["key"]:
            out.append(required(f"{path}[{i}].key"))
        _relative_path(it["path"], f"{path}[{i}].path", out)
        mode = it.get("mode")
        if mode is not None and not 0 <= mode <= 0o777:
            out.append(
                invalid(
                    f"{path}[{i}].mode", mode, "must be a number between 0 and 0777 (octal), both inclusive"
                )
            )


def _downward_items(items: list[dict[str, Any]] | None, path: str, out: list[FieldError]) -> None:
    for i, it in enumerate(items or ()):
        ip = f"{path}[{i}]"
        _relative_path(it["path"], f"{ip}.path", out)
        refs = [k for k in ("fieldRef", "resourceFieldRef") if k in it]
        if len(refs) != 1:
            out.append(required(ip, "one and only one of fieldRef and resourceFieldRef is required"))
        if "fieldRef" in it:
            field_ref_errors(it["fieldRef"], f"{ip}.fieldRef", VOLUME_FIELD_PATHS, out)
