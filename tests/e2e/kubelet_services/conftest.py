"""The kubelet services' end-to-end tests (real NATS from tests/conftest.py, real Docker): the
shared Docker fixtures live in tests/e2e/conftest.py."""
