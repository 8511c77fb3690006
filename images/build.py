"""The checkout's image builder: ``jetkube images build`` (cli/images/build.py) plus the test bed's images.

The recipes of the example and test images ship in the installed package (cli/images/); this
wrapper keeps the checkout's entry points working and adds what only a checkout can build: the
test bed's images (images/testbed/recipes.py: jetkube-base, jetkube from this tree, nats), the kopf
operator image (images/kopf.py) and
``--tag`` (a second jetkube build for the upgrade test). Its cache is images/.cache/.

Usage:  python images/build.py [--only NAME]... [--force] [--tag TAG]
        from images.build import ensure_images; ensure_images(["busybox", "pause"])
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # run as a script: make the repo root importable
    sys.path.insert(0, str(HERE.parent))

from cli.images import build as _b  # noqa: E402
from cli.images import host as _host  # noqa: E402
from images.kopf import kopf_images  # noqa: E402
from images.testbed.recipes import testbed_images  # noqa: E402

_host.CACHE = HERE / ".cache"
_b.IMAGES.update({img.name: img for img in testbed_images(_b)})
_b.IMAGES.update({img.name: img for img in kopf_images(_b)})  # the kopf operator test's (images/kopf.py)

CACHE = _host.CACHE
IMAGES = _b.IMAGES
Image = _b.Image
Result = _b.Result
ensure_images = _b.ensure_images
fresh_context = _b.fresh_context
run = _b.run


def build_jetkube_tag(tag: str, *, ensure_base: bool = True) -> Result:
    """``jetkube/jetkube:<tag>`` and ``jetkube/node:<tag>``: the test bed's jetkube and node images
    with ``JETKUBE_BUILD=<tag>``, which every process reports in its health (a second build for the
    upgrade test: compose.yaml runs ``jetkube/jetkube:${JETKUBE_TAG:-testbed}``;
    compose.node-engines.yaml's kubelets run ``jetkube/node:${JETKUBE_TAG:-testbed}``, made only
    where a node image exists). ``ensure_base=False``
    builds on the images as they are (those a running bed runs), without rebuilding them for a
    changed tree."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]{0,63}", tag) or tag == "testbed":
        raise RuntimeError(f"--tag {tag!r}: use lowercase letters, digits, '.', '_', '-' (and not testbed)")
    if ensure_base:
        ensure_images(["jetkube"])
    t0 = time.monotonic()
    base = IMAGES["jetkube"].tags[0]
    ctx = fresh_context(f"jetkube-{tag}")
    (ctx / "Dockerfile").write_text(f"FROM {base}\nENV JETKUBE_BUILD={tag}\nLABEL io.jetkube.build={tag}\n")
    target = f"{base.rsplit(':', 1)[0]}:{tag}"
    run(["docker", "build", "-q", "--network", "none", "-t", target, str(ctx)])
    # the node-engines bed's kubelets run on the node image (jetkube plus ip and bridge): its build
    # <tag> too, when there is a node image (the default bed never builds one)
    node = IMAGES["node"].tags[0]
    have_node = subprocess.run(["docker", "image", "inspect", node], capture_output=True, check=False)
    if have_node.returncode != 0:
        return Result("jetkube", target, "built", time.monotonic() - t0)
    if ensure_base:
        ensure_images(["node"])
    (ctx / "Dockerfile").write_text(f"FROM {node}\nENV JETKUBE_BUILD={tag}\nLABEL io.jetkube.build={tag}\n")
    run(["docker", "build", "-q", "--network", "none", "-t", f"{node.rsplit(':', 1)[0]}:{tag}", str(ctx)])
    return Result("jetkube", target, "built", time.monotonic() - t0)


def _print_line(r: Result) -> None:
    sys.stdout.write(r.line() + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--only", action="append", choices=list(IMAGES), help="build only this image (and its bases)"
    )
    ap.add_argument("--force", action="store_true", help="rebuild even when the recipe hash matches")
    ap.add_argument(
        "--tag", help="also build jetkube/jetkube:TAG from the same tree, reporting build TAG (upgrades)"
    )
    args = ap.parse_args(argv)
    t0 = time.monotonic()
    try:
        ensure_images(args.only, force=args.force, progress=_print_line)
        if args.tag:
            _print_line(build_jetkube_tag(args.tag))
    except (RuntimeError, subprocess.CalledProcessError, KeyError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    sys.stdout.write(f"done in {time.monotonic() - t0:.1f}s\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
