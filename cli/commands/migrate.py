"""``jetkube migrate-storage``: rewrite every stored object in its storage version (resumable).

Step 4 of the seed's API upgrade. The work is ``actors.storagemigration.StorageMigration``; this
command asks the api for the storage versions, runs it, and draws a progress bar on stderr when
stderr is a terminal (one summary line otherwise). Interrupted (Ctrl-C, a crash, a lost
connection), it is simply run again: it resumes after its last checkpoint. ``--status`` prints the
progress record of the last run.
"""

from __future__ import annotations

import sys
import time
from typing import Annotated, Any

import typer

from cli.context import ServerOpt, run, settings

BAR_WIDTH = 30


def bar(done: int, total: int, key: str, width: int = BAR_WIDTH) -> str:
    """``[#########.........]  42/150  deployments.default.web`` (pure)."""
    filled = width if total <= 0 else min(width, width * done // total)
    return f"[{'#' * filled}{'.' * (width - filled)}] {done:>{len(str(total))}}/{total}  {key}"


class TerminalBar:
    """Redraws one line on stderr, at most 10 times a second."""

    def __init__(self) -> None:
        self.last = 0.0
        self.drawn = False

    def __call__(self, done: int, total: int, key: str) -> None:
        now = time.monotonic()
        if done < total and now - self.last < 0.1:
            return
        self.last = now
        line = bar(done, total, key)
        sys.stderr.write("\r" + line[:200].ljust(80))
        sys.stderr.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            sys.stderr.write("\n")
            sys.stderr.flush()


def migrate_storage(
    ctx: typer.Context,
    qps: Annotated[
        float, typer.Option("--qps", help="At most this many objects per second (0: no limit)")
    ] = 0.0,
    status: Annotated[bool, typer.Option("--status", help="Print the last run's progress and exit")] = False,
    server: ServerOpt = None,
) -> None:
    """Rewrite every stored object in its kind's storage version (--storage-versions of the api)."""
    opts = settings(ctx, server)

    async def work(api: Any) -> int:
        from actors.storagemigration import StorageMigration, progress
        from schemas.versions import from_status

        if status:
            record = await progress(api.bus)
            if record is None:
                typer.echo("no storage migration has run")
                return 0
            state = "finished" if record.get("finished") else "interrupted or running"
            typer.echo(
                f"{state}: {record.get('done')}/{record.get('total')} objects looked at, "
                f"{record.get('migrated')} rewritten, last key {record.get('lastKey') or '-'}"
            )
            for kind, gv in sorted((record.get("target") or {}).items()):
                typer.echo(f"  {kind}\t{gv}")
            return 0
        versions = from_status(await api.call("apiversions", {}))
        drawer = TerminalBar() if sys.stderr.isatty() else None
        migration = StorageMigration(api, versions, qps=qps, on_progress=drawer)
        try:
            result = await migration.run()
        finally:
            if drawer is not None:
                drawer.close()
        if result.resumed_after:
            typer.echo(f"resumed after {result.resumed_after} ({result.already_done} objects done before)")
        typer.echo(
            f"{result.total} objects looked at, {result.migrated} rewritten in their storage version "
            f"({result.conflicts} compare-and-set conflicts retried)"
        )
        for kind, gv in sorted(result.target.items()):
            typer.echo(f"  {kind}\t{gv}")
        return 0

    run(opts, work)


def register(app: typer.Typer) -> None:
    app.command("migrate-storage")(migrate_storage)
