"""The one error hierarchy of jetkube.

Every expected failure is a :class:`JetkubeError`. Each carries what Kubernetes' ``Status`` carries
(an HTTP-like ``code``, a ``reason`` such as ``NotFound`` and a one-line ``message``), so that an
error raised in the api actor travels over NATS as a plain mapping (:meth:`JetkubeError.to_status`)
and is raised again, as the same class, on the client side (:func:`from_status`).

Library exceptions (nats, aiodocker, pydantic) never cross a layer: ``bus/`` and the kubelet's
runtime translate them here, at their edge. The module does no I/O, so ``schemas`` may own it and
every layer may import it.

The CLI prints errors the way kubectl does: ``Error from server (NotFound): pods "x" not found`` for
errors the server answered with, and ``error: ...`` for local ones (:meth:`JetkubeError.cli_line`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class FieldError:
    """One invalid field: its path in kubectl's spelling and the rule it broke."""

    field: str  # e.g. "spec.containers[0].image"
    message: str  # e.g. "Required value"

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class JetkubeError(Exception):
    """Base of every expected failure. ``temporary`` errors may succeed when retried later."""

    code: ClassVar[int] = 500
    reason: ClassVar[str] = "InternalError"
    temporary: ClassVar[bool] = False
    from_server: bool = False

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}

    def to_status(self) -> dict[str, Any]:
        status: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "status": "Failure",
            "code": self.code,
            "reason": self.reason,
            "message": self.message,
        }
        if self.details:
            status["details"] = self.details
        return status

    def cli_line(self) -> str:
        if self.from_server:
            return f"Error from server ({self.reason}): {self.message}"
        return f"error: {self.message}"


class BadRequest(JetkubeError):
    code = 400
    reason = "BadRequest"


class Invalid(JetkubeError):
    """A manifest broke one or more rules. ``causes`` name each field and rule."""

    code = 422
    reason = "Invalid"

    def __init__(
        self,
        kind: str,
        name: str,
        causes: list[FieldError],
        *,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.kind = kind
        self.name = name
        self.causes = list(causes)
        joined = ", ".join(str(c) for c in self.causes)
        what = f'{kind} "{name}"' if name else kind
        message = f"{what} is invalid: {joined}"
        det = dict(details or {})
        det.setdefault("kind", kind)
        det.setdefault("name", name)
        det["causes"] = [{"field": c.field, "message": c.message} for c in self.causes]
        super().__init__(message, details=det)


class Unauthorized(JetkubeError):
    code = 401
    reason = "Unauthorized"


class Forbidden(JetkubeError):
    code = 403
    reason = "Forbidden"


class NotFound(JetkubeError):
    code = 404
    reason = "NotFound"


class MethodNotAllowed(JetkubeError):
    code = 405
    reason = "MethodNotAllowed"


class AlreadyExists(JetkubeError):
    code = 409
    reason = "AlreadyExists"


class Conflict(JetkubeError):
    """A compare-and-set lost: the object changed since the writer read it. Re-read and retry."""

    code = 409
    reason = "Conflict"
    temporary = True


class LeaseLost(JetkubeError):
    """A write made on behalf of a lease (a controller's) whose lease this writer no longer holds:
    another replica leads now, or this one could not renew in time. Nothing was written; stop acting."""

    code = 409
    reason = "LeaseLost"


class Gone(JetkubeError):
    """A watch asked for a revision the store no longer holds. Re-list."""

    code = 410
    reason = "Expired"


class RequestEntityTooLarge(JetkubeError):
    code = 413
    reason = "RequestEntityTooLarge"


class TooManyRequests(JetkubeError):
    code = 429
    reason = "TooManyRequests"
    temporary = True


class InternalError(JetkubeError):
    code = 500
    reason = "InternalError"


class ServiceUnavailable(JetkubeError):
    """NATS, the api actor or the Docker engine did not answer. Temporary."""

    code = 503
    reason = "ServiceUnavailable"
    temporary = True


class Timeout(JetkubeError):
    code = 504
    reason = "Timeout"
    temporary = True


class DockerError(JetkubeError):
    """The Docker engine refused or failed an operation (translated from aiodocker)."""

    code = 500
    reason = "DockerError"


@dataclass
class _Registry:
    by_reason: dict[str, type[JetkubeError]] = field(default_factory=dict)


_REGISTRY = _Registry()
for _cls in (
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    AlreadyExists,
    Conflict,
    LeaseLost,
    Gone,
    RequestEntityTooLarge,
    TooManyRequests,
    InternalError,
    ServiceUnavailable,
    Timeout,
    DockerError,
):
    _REGISTRY.by_reason[_cls.reason] = _cls


def from_status(status: dict[str, Any]) -> JetkubeError:
    """Rebuild the error a server sent as a Status mapping; it is marked ``from_server``."""
    reason = str(status.get("reason") or "InternalError")
    message = str(status.get("message") or reason)
    details = status.get("details") or {}
    err: JetkubeError
    if reason == "Invalid":
        causes = [FieldError(c.get("field", ""), c.get("message", "")) for c in details.get("causes", [])]
        err = Invalid(details.get("kind", ""), details.get("name", ""), causes, details=details)
        err.message = message
        err.args = (message,)
    else:
        cls = _REGISTRY.by_reason.get(reason, InternalError)
        err = cls(message, details=details)
    err.from_server = True
    return err
