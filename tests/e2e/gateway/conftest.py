"""The gateway fixtures of tests/integration/gateway and the kubelets of tests/e2e/observability,
with the Docker fixtures of tests/e2e."""

from tests.e2e.observability.conftest import nodes  # noqa: F401  (fixtures, used by name)
from tests.integration.gateway.conftest import cluster  # noqa: F401
