"""``jetkube down [--data-dir D] [--purge]``: take a local cluster (``jetkube up``) away.

In order: the ``jetkube up`` that holds the data dir is stopped (SIGTERM: its actors stop in order,
then its server; SIGKILL after ``--timeout``), a nats-server an earlier run left is stopped
(cli/datadir.py checks it is this data dir's own), then every container its kubelet made is
removed, found by the cluster id label (``io.jetkube.cluster``, actors/kubelet/labels.py), so
another cluster's containers on the same engine stay. ``--purge`` then deletes the data dir (only
a directory that holds a jetkube up's state). Each step says what it did in one line; a data dir
with nothing to do says so and exits 0, as ``docker compose down`` does.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Annotated

import typer

from actors.kubelet.docker_cluster import remove_cluster_containers
from cli.datadir import existing_cluster_id, holder, looks_like_data_dir, stop_leftover_server, terminate
from schemas.errors import BadRequest, JetkubeError, ServiceUnavailable


def down(
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="The data dir of the jetkube up to take down.")
    ] = None,  # type: ignore[assignment]
    purge: Annotated[bool, typer.Option("--purge", help="Also delete the data dir (all state).")] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds a running jetkube up gets to stop before SIGKILL.")
    ] = 30.0,
) -> None:
    """Stop the local cluster of a data dir, remove its pods' containers, and with --purge its data."""
    from cli.up import default_data_dir

    data_dir = data_dir or default_data_dir()
    try:
        if not data_dir.is_dir():
            raise BadRequest(f"--data-dir: {data_dir} does not exist")
        if not looks_like_data_dir(data_dir):
            raise BadRequest(f"--data-dir: {data_dir} holds no jetkube up state (cluster-id, jetstream)")
        pid = holder(data_dir)
        if pid is not None:
            terminate(pid, timeout)
            typer.echo(f"stopped jetkube up (pid {pid})")
        stale = stop_leftover_server(data_dir)
        if stale is not None:
            typer.echo(f"stopped nats-server (pid {stale}) left running by an earlier jetkube up")
        cid = existing_cluster_id(data_dir)
        if cid is not None:
            try:
                removed = asyncio.run(remove_cluster_containers(cid))
                typer.echo(f"removed {removed} containers of cluster {cid}")
            except ServiceUnavailable as err:
                if purge:  # the label would be lost with the data dir: keep both
                    raise ServiceUnavailable(
                        f"{err.message}; the data dir is kept so that a later jetkube down finds them"
                    ) from None
                typer.echo(f"containers not removed: {err.message}", err=True)
        if purge:
            shutil.rmtree(data_dir)
            typer.echo(f"deleted {data_dir}")
        if pid is None and stale is None and not purge and cid is None:
            typer.echo(f"nothing to take down in {data_dir}")
    except JetkubeError as err:
        typer.echo(err.cli_line(), err=True)
        raise typer.Exit(1) from None


def register(app: typer.Typer) -> None:
    app.command("down")(down)
