"""Kubernetes schemas for jetkube: models, validation, defaults, conversion. No I/O.

Entry points:

- :func:`schemas.decode.normalize` — a manifest dict in, the canonical stored dict out;
- :func:`schemas.registry.lookup` / :func:`schemas.registry.by_api_version_kind` — resource names;
- :mod:`schemas.labels` — label and field selectors;
- :mod:`schemas.quantity` — ``cpu_millis``, ``bytes``;
- :mod:`schemas.status`, :mod:`schemas.fields`, :mod:`schemas.affinity`, :mod:`schemas.convert`;
- :mod:`schemas.errors` — the one error hierarchy.
"""
