"""What every long-running command (up, controlplane, kubelet, hollow-nodes, proxy, dns) does
around its event loop: logs configured, the garbage collector tuned for a server
(actors/runtime/gctune.py) and ``--memory-limit`` set (actors/runtime/memguard.py) before it
starts; a JetkubeError is one line on stderr and exit 1;
Ctrl-C ends it quietly."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Annotated

import typer

from schemas.errors import JetkubeError

# The options every process command spells alike.
ServerOpt = Annotated[str, typer.Option("--server", "-s", envvar="JETKUBE_SERVER", help="NATS URL.")]
LogLevelOpt = Annotated[str, typer.Option("--log-level", help="debug, info, warning or error.")]
MetricsPortOpt = Annotated[
    int, typer.Option("--metrics-port", help="Serve Prometheus /metrics on this port; 0: off.")
]
MetricsHostOpt = Annotated[str, typer.Option("--metrics-host", help="Address /metrics listens on.")]
MemoryLimitOpt = Annotated[
    str,
    typer.Option(
        "--memory-limit",
        help="This process's memory ceiling (e.g. 1Gi): its cgroup's if it is alone in one, else "
        "watched; past 85% the api answers 503.",
    ),
]
DEFAULT_SERVER = "nats://127.0.0.1:4222"


def parse_memory_limit(text: str) -> int | None:
    """``--memory-limit``: a Kubernetes quantity of bytes (``512Mi``, ``2G``); empty: none."""
    from schemas.quantity import QuantityError, to_bytes

    if not text.strip():
        return None
    try:
        limit = to_bytes(text.strip())
    except QuantityError:
        limit = 0
    if limit < 64 * 1024 * 1024:
        raise typer.BadParameter(
            f"{text!r}: must be a quantity of bytes of at least 64Mi, e.g. 512Mi or 2Gi",
            param_hint="--memory-limit",
        )
    return limit


def start_process(log_level: str, memory_limit: str = "") -> None:
    from actors.runtime.gctune import tune_for_server
    from actors.runtime.memguard import apply_limit
    from cli.logsetup import configure_logging

    limit = parse_memory_limit(memory_limit)  # bad value: click's usage error, before anything runs
    configure_logging(log_level)
    tune_for_server()
    if limit is not None:
        apply_limit(limit)


@contextlib.contextmanager
def served(metrics_port: int = 0, metrics_host: str = "127.0.0.1") -> Iterator[None]:
    """Run the process's body: /metrics served on ``metrics_port`` (0: not), errors as one line."""
    try:
        from bus.metrics import metrics_served

        with metrics_served(metrics_port, metrics_host):
            yield
        _exit_if_stopped_for_memory()
    except JetkubeError as err:
        typer.echo(err.cli_line(), err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        pass


def _exit_if_stopped_for_memory() -> None:
    """The memory watcher stopped the process in order: say so in one line, exit 1."""
    from actors.runtime.memguard import GUARD, MIB

    if GUARD.stopped_for_memory:
        limit = (GUARD.limit or 0) // MIB
        typer.echo(f"error: stopped in order: grown past its --memory-limit of {limit} MiB", err=True)
        raise typer.Exit(1)
