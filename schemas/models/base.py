"""The base of every model: Kubernetes field names, strict types, unknown fields refused.

Python attributes are snake_case; the wire names (aliases) are Kubernetes' camelCase, including its
initialisms (``podIP``, ``imageID``, ``downwardAPI``). Models validate by alias only, like kubectl's
strict decoding: ``restart_policy`` in a manifest is an unknown field, not an alias of
``restartPolicy``. ``strict=True`` refuses what Go's JSON decoder refuses (``replicas: "3"``).

Every field that is not required by the API is ``None`` by default, and Kubernetes' defaults are
applied to the canonical dict (schemas.defaults), not here: a model never invents values.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, PlainValidator
from pydantic_core import PydanticCustomError

from schemas import quantity

_UPPER = {
    "ip": "IP",
    "ips": "IPs",
    "id": "ID",
    "cidr": "CIDR",
    "cidrs": "CIDRs",
    "api": "API",
    "uuid": "UUID",
    "ipc": "IPC",
    "pid": "PID",
}


def k8s_alias(name: str) -> str:
    """Wire name of a field: ``pod_ip`` -> ``podIP``, ``downward_api`` -> ``downwardAPI``."""
    first, *rest = name.split("_")
    return first + "".join(_UPPER.get(p, p[:1].upper() + p[1:]) for p in rest)


class K8sModel(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        alias_generator=k8s_alias,
        populate_by_name=False,
        revalidate_instances="never",
        protected_namespaces=(),
    )


def _int_or_string(v: Any) -> int | str:
    if type(v) is int or type(v) is str:
        return v
    raise PydanticCustomError("int_or_string", "expected integer or string")


def _quantity(v: Any) -> int | float | str:
    try:
        quantity.parse(v)
    except quantity.QuantityError:
        raise PydanticCustomError("quantity", quantity.QUANTITY_MESSAGE) from None
    return v  # type: ignore[no-any-return]


def _any_object(v: Any) -> dict[str, Any]:
    if type(v) is dict:
        return v
    raise PydanticCustomError("dict_type", "expected object")


IntOrString = Annotated[int | str, PlainValidator(_int_or_string)]
Quantity = Annotated[int | float | str, PlainValidator(_quantity)]
ResourceList = dict[str, Quantity]
Time = str  # RFC 3339 ("2026-11-25T17:00:00Z"); kept as text, as on the wire
AnyObject = Annotated[dict[str, Any], PlainValidator(_any_object)]
StrMap = dict[str, str]
