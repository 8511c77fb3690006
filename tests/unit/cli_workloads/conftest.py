"""The CLI unit fixtures (in-memory api, a CliRunner), shared with tests/unit/cli."""

from tests.unit.cli.conftest import cli, fake_api  # noqa: F401
