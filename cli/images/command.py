"""``jetkube images build [NAME...] [--list] [--force]``: build the images the seed's examples name.

No registry serves these machines: ``busybox``, ``perl``, ``nginx``, ``gcr.io/google_containers/...``
are built on the local engine from Debian packages (cli/images/build.py; the recipes ship in the
package). Each image is rebuilt only when its recipe changed, so a second run costs a few
``docker image inspect`` calls. The long step (debootstrap of the Debian rootfs under ``perl`` and
``nginx``, a minute or two) shows its progress: rewritten in place on a terminal, one line per
phase otherwise.
"""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Annotated

import typer

app = typer.Typer(help="Build the images the examples use (no registry needed).", no_args_is_help=True)


class StepPrinter:
    """Prints the lines of a long step: in place on a terminal, else when the phase changes
    (debootstrap's ``I: Retrieving ...``, ``I: Unpacking ...``, ``I: Configuring ...``)."""

    def __init__(self, tty: bool) -> None:
        self.tty = tty
        self.t0 = time.monotonic()
        self.phase = ""
        self.dirty = False

    def __call__(self, name: str, line: str) -> None:
        text = line.removeprefix("I: ").strip()
        elapsed = time.monotonic() - self.t0
        if self.tty:
            sys.stdout.write(f"\r{name:<10} {elapsed:5.0f}s  {text[:60]:<60}")
            sys.stdout.flush()
            self.dirty = True
            return
        phase = text.split(" ", 1)[0]
        if phase != self.phase:
            self.phase = phase
            typer.echo(f"{name:<10} {elapsed:5.0f}s  {text}")

    def clear(self) -> None:
        if self.dirty:
            sys.stdout.write("\r" + " " * 80 + "\r")
            self.dirty = False


@app.command("build")
def build(
    names: Annotated[
        list[str] | None, typer.Argument(help="Images to build (and their bases); all when none.")
    ] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the images jetkube can build.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Rebuild even when current.")] = False,
) -> None:
    """Build the example images on the local Docker engine (cached by recipe)."""
    from cli.images import build as b

    if list_:
        try:
            present = b.image_labels([t for img in b.IMAGES.values() for t in img.tags])
        except (RuntimeError, OSError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
        typer.echo(f"{'NAME':<10} {'PRESENT':<8} {'BASED ON':<10} TAGS")
        for img in b.IMAGES.values():
            here = "yes" if all(t in present for t in img.tags) else "no"
            typer.echo(f"{img.name:<10} {here:<8} {','.join(img.deps) or '-':<10} {', '.join(img.tags)}")
        return
    unknown = [n for n in names or [] if n not in b.IMAGES]
    if unknown:
        typer.echo(f"error: unknown image {unknown[0]!r}; jetkube can build: {', '.join(b.IMAGES)}", err=True)
        raise typer.Exit(2)
    steps = StepPrinter(sys.stdout.isatty())

    def done(r: b.Result) -> None:
        steps.clear()
        typer.echo(r.line())

    t0 = time.monotonic()
    try:
        b.ensure_images(names or None, force=force, progress=done, on_step=steps)
    except FileNotFoundError as exc:
        steps.clear()
        typer.echo(
            f"error: {exc.filename or exc} is not installed (the builder runs the docker CLI)", err=True
        )
        raise typer.Exit(1) from exc
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        steps.clear()
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"done in {time.monotonic() - t0:.1f}s")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="images")
