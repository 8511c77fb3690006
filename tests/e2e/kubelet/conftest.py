"""The kubelet's end-to-end tests: the shared Docker fixtures (tests/e2e/conftest.py) plus a
running kubelet (kubelet_fixtures.py)."""

from tests.e2e.kubelet.kubelet_fixtures import kubelet, kubelet_factory  # noqa: F401
