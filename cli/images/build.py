"""Build, on demand and cached, the images the seed's examples and jetkube's tests need.

This machine has no container registry, so every image an example names is built here from
Debian packages and tagged with that name (``jetkube images build [NAME...]``; the tags of each
are in actors/kubelet/image_catalog.py, which the kubelet also reads to name the command when a
pod's image is missing):

    busybox        FROM scratch + Debian's busybox-static and its applet links
    pause          FROM scratch + the kubelet's own 213-byte static pause (actors/kubelet/pause_elf.py:
                   exits 0 on SIGTERM/SIGINT, ignores SIGCHLD so the kernel reaps); no gcc needed
    liveness       FROM busybox + a static C /server: /healthz is 200 for 10 s, then 500
    proxy          FROM busybox + a static C proxy-to-service (tcp|udp PORT HOST [TIMEOUT])
    debian         debootstrap --variant=minbase bookworm (+ perl, a newer Math::BigInt, nginx),
                   imported with `docker import`; the rootfs tarball is cached (see CACHE)
    perl           FROM debian, tagged perl
    nginx          FROM debian + a config that serves "Welcome to nginx!" on :80, in the foreground

Each image carries the label ``io.jetkube.recipe`` = a hash of everything that went into it (its
Dockerfile, its sources, its base's hash). An image is rebuilt only when its tag is missing or the
label differs, so a second run does a couple of ``docker image inspect`` calls and nothing else.

Usage:  jetkube images build [NAME...] [--list] [--force]
        from cli.images.build import ensure_images; ensure_images(["busybox", "pause"])
        (a checkout's ``python images/build.py [--only NAME]...`` wraps this module and adds the
        test bed's images)

Needs the docker CLI and, for what it builds, busybox-static, debootstrap, gcc and libc6-dev
(installed with apt-get when missing; building the Debian rootfs needs root). The recipe sources
(src/*.c) are package data, so an installed jetkube builds everything with no checkout. Standard
library only: it runs with any python3 that can import the package.

The cache (the Debian rootfs tarball, build contexts, the builders' lock) is ``$JETKUBE_IMAGES_CACHE``,
else ``$XDG_CACHE_HOME/jetkube/images`` (``~/.cache/jetkube/images``); a checkout's wrapper uses
``images/.cache``.
"""

from __future__ import annotations

import json
import os
import shutil
import tarfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from actors.kubelet import pause_elf
from actors.kubelet.image_catalog import BUILDABLE
from cli.images import host
from cli.images.host import (
    DEBIAN_SUITE,
    LABEL,
    RECIPE_VERSION,
    SRC,
    Step,
    build_lock,
    compile_static,
    debian_mirror,
    docker_build,
    fresh_context,
    image_labels,
    need_packages,
    run,
    run_with_progress,
    sha,
)

DEBIAN_INCLUDE = ["perl", "libmath-bigint-perl", "nginx"]  # bookworm's own Math::BigInt has a
# bug that breaks bpi(n) for n > 1000 (the seed's pi Job asks for 2000): libmath-bigint-perl fixes it.

__all__ = [
    "DEBIAN_SUITE",
    "IMAGES",
    "LABEL",
    "RECIPE_VERSION",
    "SRC",
    "Image",
    "Result",
    "debian_mirror",
    "ensure_images",
    "fresh_context",
    "image_labels",
    "need_packages",
    "run",
    "sha",
]


def __getattr__(name: str) -> object:
    if name == "CACHE":  # read at call time (the wrapper may have moved it): host.CACHE
        return host.CACHE
    raise AttributeError(name)


@dataclass
class Image:
    name: str
    tags: list[str]
    deps: list[str] = field(default_factory=list)
    # returns (hash inputs, builder); builder(recipe_hash) builds and tags the image
    plan: Callable[[], tuple[list[bytes], Callable[[str], None]]] | None = None


@dataclass
class Result:
    name: str
    tag: str
    action: str  # "cached" | "built" | "retagged"
    seconds: float

    def line(self) -> str:
        return f"{self.name:<10} {self.tag:<45} {self.action:<8} {self.seconds:6.1f}s"


# --------------------------------------------------------------------------- recipes

BUSYBOX_DOCKERFILE = """\
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
CMD ["sh"]
"""

BUSYBOX_ETC = {
    "etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    "etc/group": "root:x:0:\nnogroup:x:65534:\n",
    "etc/nsswitch.conf": "hosts: files dns\n",
}


def plan_busybox() -> tuple[list[bytes], Callable[[str], None]]:
    need_packages(["busybox-static"])
    binary = Path("/bin/busybox").read_bytes()
    applets = run(["/bin/busybox", "--list-full"]).split()
    inputs = [BUSYBOX_DOCKERFILE.encode(), binary, json.dumps(BUSYBOX_ETC, sort_keys=True).encode()]

    def build(recipe: str) -> None:
        ctx = fresh_context("busybox")
        root = ctx / "rootfs"
        for d in ("bin", "sbin", "usr/bin", "usr/sbin", "etc", "root", "var/www"):
            (root / d).mkdir(parents=True, exist_ok=True)
        (root / "tmp").mkdir()
        (root / "tmp").chmod(0o1777)
        shutil.copy2("/bin/busybox", root / "bin/busybox")
        for path in applets:  # e.g. "usr/bin/wget"
            link = root / path
            if link.name == "busybox" or link.exists():
                continue
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to("/bin/busybox")
        for rel, text in BUSYBOX_ETC.items():
            (root / rel).write_text(text)
        (ctx / "Dockerfile").write_text(BUSYBOX_DOCKERFILE)
        docker_build(ctx, IMAGES["busybox"].tags, recipe)

    return inputs, build


def plan_static(
    name: str, source: str, dockerfile: str
) -> Callable[[], tuple[list[bytes], Callable[[str], None]]]:
    def plan() -> tuple[list[bytes], Callable[[str], None]]:
        src = SRC / source
        inputs = [dockerfile.encode(), src.read_bytes(), b"gcc -O2 -static -s"]

        def build(recipe: str) -> None:
            ctx = fresh_context(name)
            compile_static(src, ctx / Path(source).stem)
            (ctx / "Dockerfile").write_text(dockerfile)
            docker_build(ctx, IMAGES[name].tags, recipe)

        return inputs, build

    return plan


def plan_pause() -> tuple[list[bytes], Callable[[str], None]]:
    """The kubelet's own pause (actors/kubelet/pause_elf.py): the same bytes and label as the image
    the kubelet makes when it is missing. On other hosts than amd64, src/pause.c with gcc."""
    if not pause_elf.supported():
        return plan_static("pause", "pause.c", pause_elf.DOCKERFILE.decode())()
    inputs = [pause_elf.DOCKERFILE, pause_elf.pause_elf()]

    def build(recipe: str) -> None:
        ctx = fresh_context("pause")
        (ctx / "pause").write_bytes(pause_elf.pause_elf())
        (ctx / "pause").chmod(0o755)
        (ctx / "Dockerfile").write_bytes(pause_elf.DOCKERFILE)
        docker_build(ctx, IMAGES["pause"].tags, recipe)

    return inputs, build


LIVENESS_DOCKERFILE = """\
FROM busybox:latest
COPY liveness /server
EXPOSE 8080
CMD ["/server"]
"""

PROXY_DOCKERFILE = """\
FROM busybox:latest
COPY proxy-to-service /proxy-to-service
ENTRYPOINT ["/proxy-to-service"]
"""


def debian_rootfs_tarball(recipe: str) -> Path:
    """debootstrap the minbase rootfs once and keep it as a tarball in images/.cache/."""
    tarball = host.CACHE / f"debian-{DEBIAN_SUITE}-{recipe[:16]}.tar"
    if tarball.exists():
        return tarball
    need_packages(["debootstrap"])
    if os.geteuid() != 0:
        raise RuntimeError("building the Debian rootfs (debootstrap) needs root")
    rootfs = host.CACHE / f"rootfs-{recipe[:16]}"
    if rootfs.exists():
        shutil.rmtree(rootfs)
    try:
        run_with_progress(
            "debian",
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(DEBIAN_INCLUDE)}",
                DEBIAN_SUITE,
                str(rootfs),
                debian_mirror(),
            ],
        )
        # what a container gets from the engine, or what only bloats the image
        for rel in (
            "var/cache/apt/archives",
            "var/lib/apt/lists",
            "var/log",
            "usr/share/doc",
            "usr/share/man",
        ):
            p = rootfs / rel
            if p.is_dir():
                for child in p.iterdir():
                    if child.is_dir() and not child.is_symlink():
                        shutil.rmtree(child)
                    elif child.name != "lock":
                        child.unlink()
        (rootfs / "var/log/nginx").mkdir(parents=True, exist_ok=True)
        (rootfs / "var/log/apt").mkdir(parents=True, exist_ok=True)
        (rootfs / "etc/resolv.conf").write_text("")
        (rootfs / "etc/hostname").write_text("localhost\n")
        tmp = tarball.with_suffix(".tar.part")
        with tarfile.open(tmp, "w", format=tarfile.GNU_FORMAT) as tar:
            for child in sorted(rootfs.iterdir()):
                tar.add(child, arcname=child.name)
        tmp.rename(tarball)
    finally:
        shutil.rmtree(rootfs, ignore_errors=True)
    return tarball


def plan_debian() -> tuple[list[bytes], Callable[[str], None]]:
    inputs = [f"debootstrap minbase {DEBIAN_SUITE} {sorted(DEBIAN_INCLUDE)}".encode()]

    def build(recipe: str) -> None:
        tarball = debian_rootfs_tarball(recipe)
        for stale in host.CACHE.glob(f"debian-{DEBIAN_SUITE}-*.tar"):
            if stale != tarball:
                stale.unlink()
        tags = IMAGES["debian"].tags
        changes = [
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            'CMD ["bash"]',
            f"LABEL {LABEL}={recipe}",
        ]
        cmd = ["docker", "import"]
        for c in changes:
            cmd += ["--change", c]
        run([*cmd, str(tarball), tags[0]])
        for t in tags[1:]:
            run(["docker", "tag", tags[0], t])

    return inputs, build


PERL_DOCKERFILE = """\
FROM jetkube/debian:bookworm
CMD ["perl", "-de0"]
"""

NGINX_DOCKERFILE = """\
FROM jetkube/debian:bookworm
COPY nginx.conf /etc/nginx/nginx.conf
COPY index.html /usr/share/nginx/html/index.html
EXPOSE 80
STOPSIGNAL SIGQUIT
CMD ["/usr/sbin/nginx", "-g", "daemon off;"]
"""

NGINX_CONF = """\
user www-data;
worker_processes 1;
pid /run/nginx.pid;
error_log stderr notice;

events {
    worker_connections 512;
}

http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log /dev/stdout;
    sendfile on;
    keepalive_timeout 65;

    server {
        listen 80;
        listen [::]:80;
        server_name localhost;
        location / {
            root /usr/share/nginx/html;
            index index.html;
        }
    }
}
"""

NGINX_INDEX = """\
<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and
working. Further configuration is required.</p>
<p><em>Thank you for using nginx.</em></p>
</body>
</html>
"""


def plan_dockerfile(
    name: str, dockerfile: str, files: dict[str, str]
) -> Callable[[], tuple[list[bytes], Callable[[str], None]]]:
    def plan() -> tuple[list[bytes], Callable[[str], None]]:
        inputs = [dockerfile.encode(), json.dumps(files, sort_keys=True).encode()]

        def build(recipe: str) -> None:
            ctx = fresh_context(name)
            for rel, text in files.items():
                (ctx / rel).write_text(text)
            (ctx / "Dockerfile").write_text(dockerfile)
            docker_build(ctx, IMAGES[name].tags, recipe)

        return inputs, build

    return plan


IMAGES: dict[str, Image] = {
    img.name: img
    for img in [
        Image("busybox", list(BUILDABLE["busybox"]), plan=plan_busybox),
        Image("pause", list(BUILDABLE["pause"]), plan=plan_pause),
        Image(
            "liveness",
            list(BUILDABLE["liveness"]),
            deps=["busybox"],
            plan=plan_static("liveness", "liveness.c", LIVENESS_DOCKERFILE),
        ),
        Image(
            "proxy",
            list(BUILDABLE["proxy"]),
            deps=["busybox"],
            plan=plan_static("proxy", "proxy-to-service.c", PROXY_DOCKERFILE),
        ),
        Image("debian", list(BUILDABLE["debian"]), plan=plan_debian),
        Image(
            "perl",
            list(BUILDABLE["perl"]),
            deps=["debian"],
            plan=plan_dockerfile("perl", PERL_DOCKERFILE, {}),
        ),
        Image(
            "nginx",
            list(BUILDABLE["nginx"]),
            deps=["debian"],
            plan=plan_dockerfile(
                "nginx", NGINX_DOCKERFILE, {"nginx.conf": NGINX_CONF, "index.html": NGINX_INDEX}
            ),
        ),
    ]
}


def _order(names: Iterable[str]) -> list[str]:
    out: list[str] = []

    def visit(n: str) -> None:
        if n not in IMAGES:
            raise KeyError(f"unknown image {n!r}; known: {', '.join(IMAGES)}")
        for d in IMAGES[n].deps:
            visit(d)
        if n not in out:
            out.append(n)

    for n in names:
        visit(n)
    return out


def ensure_images(
    names: Iterable[str] | None = None,
    *,
    force: bool = False,
    progress: Callable[[Result], None] | None = None,
    on_step: Step | None = None,
) -> list[Result]:
    """Build the named images (and what they are built FROM) unless already current; return what was done.

    ``progress`` is called with each image's result as soon as it is known, ``on_step`` with the
    lines of long steps (debootstrap's)."""
    host.set_step(on_step)
    order = _order(names if names is not None else list(IMAGES))
    results: list[Result] = []
    hashes: dict[str, str] = {}
    with build_lock():
        present = image_labels([t for n in order for t in IMAGES[n].tags])
        for n in order:
            img = IMAGES[n]
            t0 = time.monotonic()
            assert img.plan is not None
            inputs, build = img.plan()
            recipe = sha([RECIPE_VERSION.encode(), *inputs, *(hashes[d].encode() for d in img.deps)])
            hashes[n] = recipe
            have = [present.get(t) for t in img.tags]
            current = [h for h in have if h and h[1] == recipe]
            if not force and current and len(current) == len(have):
                action = "cached"
            elif not force and current:
                for t, h in zip(img.tags, have, strict=True):
                    if not h or h[1] != recipe:
                        run(["docker", "tag", img.tags[have.index(current[0])], t])
                action = "retagged"
            else:
                build(recipe)
                action = "built"
            results.append(Result(n, img.tags[0], action, time.monotonic() - t0))
            if progress is not None:
                progress(results[-1])
    return results
