"""What every long-running command (up, controlplane, kubelet, hollow-nodes, proxy, dns) does
around its event loop: logs configured and the garbage collector tuned for a server
(actors/runtime/gctune.py) before it starts; a JetkubeError is one line on stderr and exit 1;
Ctrl-C ends it quietly."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import typer

from schemas.errors import JetkubeError


def start_process(log_level: str) -> None:
    from actors.runtime.gctune import tune_for_server
    from cli.logsetup import configure_logging

    configure_logging(log_level)
    tune_for_server()


@contextlib.contextmanager
def served() -> Iterator[None]:
    try:
        yield
    except JetkubeError as err:
        typer.echo(err.cli_line(), err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        pass
