"""The kopf operator image: Debian's python3 (the test bed's base) + kopf and its dependencies.

    kopf   FROM jetkube/testbed-base:bookworm (debootstrap minbase + python3 3.11) + a
           site-packages directory made on the host with ``pip install --target`` of kopf's
           binary wheels for CPython 3.11 manylinux x86_64; PYTHONPATH points at it

Offline like the test bed's images: pip fetches the wheels on the host, from the mirror pip uses,
into images/.cache/kopf-<version>/; ``docker build`` runs with no network. The operator's code is
not in the image: a test mounts it (a ConfigMap) and runs ``python3 -m kopf run``.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

KOPF_VERSION = "1.45.2"
KOPF_TAG = f"jetkube/kopf:{KOPF_VERSION}"
PYTHON = "3.11"  # Debian bookworm's python3, the base image's
DOCKERFILE = """\
FROM jetkube/testbed-base:bookworm
COPY site/ /opt/kopf/
ENV PYTHONPATH=/opt/kopf PYTHONUNBUFFERED=1
CMD ["python3", "-m", "kopf", "--help"]
"""


def site_packages(cache: Path, run: Callable[..., str]) -> Path:
    out = cache / f"kopf-{KOPF_VERSION}-cp{PYTHON.replace('.', '')}"
    if (out / "kopf").is_dir():
        return out
    part = out.with_suffix(".part")
    shutil.rmtree(part, ignore_errors=True)
    run(
        [
            sys.executable, "-m", "pip", "install", "--quiet", "--no-compile", "--target", str(part),
            "--only-binary=:all:", "--platform", "manylinux2014_x86_64", "--python-version", PYTHON,
            "--implementation", "cp", f"kopf=={KOPF_VERSION}",
        ]
    )  # fmt: skip
    part.rename(out)
    return out


def plan_kopf(b: ModuleType) -> Callable[[], tuple[list[bytes], Callable[[str], None]]]:
    def plan() -> tuple[list[bytes], Callable[[str], None]]:
        inputs = [DOCKERFILE.encode(), hashlib.sha256(KOPF_VERSION.encode()).hexdigest().encode()]

        def build(recipe: str) -> None:
            site = site_packages(b.CACHE, b.run)
            ctx = b.fresh_context("kopf")
            shutil.copytree(site, ctx / "site")
            (ctx / "Dockerfile").write_text(DOCKERFILE)
            label = f"{b.LABEL}={recipe}"
            b.run(["docker", "build", "-q", "--network", "none", "--label", label, "-t", KOPF_TAG, str(ctx)])

        return inputs, build

    return plan


def kopf_images(b: ModuleType) -> list[Any]:
    return [b.Image("kopf", [KOPF_TAG], deps=["jetkube-base"], plan=plan_kopf(b))]
