"""``jetkube secrets rotate-key``: encrypt every Secret at rest with a new key.

The api (verb ``rotatekey``, ``system:masters`` only) adds a new primary key to its key file and
keeps the old one for reading only, re-writes every Secret with the new key (compare-and-set,
retried on conflict), then drops the keys retired by an earlier rotation (at least ten minutes ago)
that no Secret uses. The key it has just retired stays until the next rotate-key: another api
replica sharing the file may still have a write sealed with it in flight
(actors/api/encryption.py explains why).
"""

from __future__ import annotations

from typing import Any

import typer

from cli.context import ServerOpt, run, settings

app = typer.Typer(help="Secrets at rest.", no_args_is_help=True)


@app.command("rotate-key")
def rotate_key(ctx: typer.Context, server: ServerOpt = None) -> None:
    """Re-encrypt every Secret with a new key; drop keys retired by an earlier rotation."""
    opts = settings(ctx, server)

    async def work(api: Any) -> int:
        result = await api.call("rotatekey", {}, timeout=300)
        typer.echo(
            f"secrets encrypted with key {result['keyId']}: {result['rewritten']} re-written"
            + f", old keys dropped: {', '.join(result.get('droppedKeys') or []) or 'none'}"
            + (
                f"; kept for reading until a later rotate-key: {', '.join(result['retiredKeys'])}"
                if result.get("retiredKeys")
                else ""
            )
        )
        if result.get("notRewritten"):
            typer.echo(f"not yet re-written (run again): {', '.join(result['notRewritten'])}", err=True)
            return 1
        return 0

    run(opts, work)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="secrets")
