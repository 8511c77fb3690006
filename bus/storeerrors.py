"""The state store's errors, in Kubernetes' words: what a client of the api sees when a read finds
nothing, a compare-and-set loses or JetStream fails (part of bus/store.py, split out to keep the
store's modules small; ``bus.store`` re-exports the public ones)."""

from __future__ import annotations

import asyncio

import nats.errors
import nats.js.errors

from schemas.errors import (
    Conflict,
    InternalError,
    JetkubeError,
    NotFound,
    ServiceUnavailable,
    Timeout,
)


def display_resource(resource: str) -> str:
    """How Kubernetes names a resource in messages: ``pods``, ``deployments.apps``."""
    try:
        from schemas.registry import lookup

        info = lookup(resource)
    except (ImportError, JetkubeError):
        return resource
    return f"{info.plural}.{info.group}" if info.group else info.plural


def not_found(resource: str, name: str) -> NotFound:
    return NotFound(f'{display_resource(resource)} "{name}" not found', details={"name": name})


def conflict(resource: str, name: str) -> Conflict:
    return Conflict(
        f'Operation cannot be fulfilled on {display_resource(resource)} "{name}": the object has been '
        "modified; please apply your changes to the latest version and try again",
        details={"name": name},
    )


def translate(err: Exception, what: str) -> JetkubeError:
    """A NATS or JetStream failure as the api error a client should act on."""
    if isinstance(err, JetkubeError):
        return err
    if isinstance(err, asyncio.TimeoutError | nats.errors.TimeoutError):
        return Timeout(f"the state store did not answer in time ({what})")
    if isinstance(err, nats.js.errors.ServiceUnavailableError | nats.errors.NoRespondersError):
        return ServiceUnavailable(f"JetStream is unavailable ({what}): {err}")
    if isinstance(err, nats.errors.ConnectionClosedError | nats.errors.StaleConnectionError):
        return ServiceUnavailable(f"the NATS connection is closed ({what})")
    return InternalError(f"state store error ({what}): {err}")
