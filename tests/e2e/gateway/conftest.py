"""The gateway fixtures of tests/integration/gateway, with the Docker fixtures of tests/e2e."""

from tests.integration.gateway.conftest import cluster  # noqa: F401  (a fixture, used by name)
