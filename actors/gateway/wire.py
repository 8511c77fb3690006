"""The HTTP edges the gateway's handlers share: bodies in (JSON, YAML, Kubernetes protobuf),
objects and Status errors out, and the api client that acts as the request's user."""

from __future__ import annotations

import json
from typing import Any

import yaml
from aiohttp import web

from actors.gateway import protobuf
from bus.auth import UserInfo
from bus.client import ApiClient
from bus.connection import Bus
from schemas.errors import BadRequest, Forbidden, JetkubeError
from schemas.managedfields import manager_from_user_agent

PATCH_TYPES = {
    "application/json-patch+json": "json",
    "application/merge-patch+json": "merge",
    "application/strategic-merge-patch+json": "strategic",
}
APPLY_PATCH = "application/apply-patch+yaml"
# The request's user, set by the authentication step (server.py); a typed key where aiohttp has them.
USER: Any = web.RequestKey("user", UserInfo) if hasattr(web, "RequestKey") else "user"


def dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), default=str)


def json_response(obj: Any, status: int = 200) -> web.Response:
    return web.Response(text=dumps(obj), status=status, content_type="application/json")


def status_response(err: JetkubeError) -> web.Response:
    return json_response(err.to_status(), err.code)


async def read_body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        return None
    ctype = request.content_type
    if ctype == "application/vnd.kubernetes.protobuf":  # kubectl's typed clients (protobuf.py)
        return protobuf.decode(raw)
    try:
        if "yaml" in ctype:
            return yaml.safe_load(raw)
        return json.loads(raw)
    except (ValueError, yaml.YAMLError) as err:
        raise BadRequest(
            f"the request body is not valid {'YAML' if 'yaml' in ctype else 'JSON'}: {err}"
        ) from None


def field_manager(request: web.Request) -> str | None:
    """The request's field manager: ``?fieldManager=``, else the User-Agent up to its first ``/``
    (kube-apiserver's default); None leaves it to the api's default."""
    return request.query.get("fieldManager") or manager_from_user_agent(request.headers.get("User-Agent"))


def client_for(bus: Bus, user: UserInfo) -> ApiClient:
    """An api client acting as ``user`` (the api's gate authorizes it as that user). Its requests
    go straight to the api replica of this process when one serves on the same connection, as in
    ``jetkube up`` and ``jetkube controlplane`` (bus/local.py): the same checks and answers, without
    a round trip through nats-server and back into this process."""
    return ApiClient(bus, impersonate=user.name, impersonate_groups=list(user.groups), local=True)


class UnsupportedMediaType(JetkubeError):
    code = 415
    reason = "UnsupportedMediaType"


def unsupported_media(ctype: str) -> JetkubeError:
    return UnsupportedMediaType(
        "the body of the request was in an unknown format - accepted media types include: "
        f'{", ".join(PATCH_TYPES)} {APPLY_PATCH} (got "{ctype}")'
    )


def dry_run(query: Any) -> bool:
    """``dryRun=All``: checked and admitted by the api, not written. Other values are refused."""
    value = query.get("dryRun")
    if value not in (None, "", "All"):
        raise BadRequest(f'dryRun: Unsupported value: "{value}": supported values: "All"')
    return value == "All"


def delete_dry_run(query: Any, opts: dict[str, Any]) -> bool:
    """A delete's dry run: ``?dryRun=All`` or DeleteOptions' ``dryRun: ["All"]`` (what kubectl
    ``delete --dry-run=server`` and an Eviction's deleteOptions send)."""
    dry = dry_run(query)
    body = opts.get("dryRun")
    if body in (None, []):
        return dry
    if not isinstance(body, list) or any(v != "All" for v in body):
        raise BadRequest(f'dryRun: Unsupported value: "{body}": supported values: "All"')
    return True


def field_validation(query: Any) -> str:
    """``?fieldValidation=``: Strict, Warn or Ignore; Warn when absent, kube-apiserver's default
    (kubectl sends Strict unless ``--validate=warn|false``)."""
    from schemas.decode import check_field_validation

    return check_field_validation(query.get("fieldValidation")) or "Warn"


def with_warnings(response: web.Response, warnings: list[str]) -> web.Response:
    """Kubernetes' ``Warning: 299 - "text"`` headers (kubectl prints ``Warning: text``)."""
    for text in warnings:
        quoted = text.replace("\\", "\\\\").replace('"', '\\"')
        response.headers.add("Warning", f'299 - "{quoted}"')
    return response


async def require_pod_right(api: ApiClient, verb: str, resource: str, ns: str, name: str | None) -> None:
    """Forbidden, worded as kube-apiserver's, unless the request's user may ``verb`` the pod
    subresource ``resource`` (``pods/exec``, ``pods/log``...) of pod ``name``."""
    allowed = await api.can_i(verb, resource, ns, name)
    if not allowed.get("allowed"):
        raise Forbidden(
            f'pods "{name}" is forbidden: User "{api.impersonate}" cannot {verb} resource "{resource}" '
            f'in API group "" in the namespace "{ns}"'
        )
