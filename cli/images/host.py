"""The image builder's I/O: the docker CLI, apt-get, debootstrap's progress, the cache and its lock.

Standard library only (cli/images/build.py explains why). ``CACHE`` is read at call time, so the
checkout's wrapper (images/build.py) points it at images/.cache/ by setting ``host.CACHE``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from actors.kubelet import pause_elf

HERE = Path(__file__).resolve().parent
SRC = HERE / "src"


def default_cache() -> Path:
    if os.environ.get("JETKUBE_IMAGES_CACHE"):
        return Path(os.environ["JETKUBE_IMAGES_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "jetkube" / "images"


CACHE = default_cache()  # the checkout's images/build.py sets images/.cache
LABEL = pause_elf.LABEL
RECIPE_VERSION = pause_elf.RECIPE_VERSION.decode()  # bump both to rebuild everything
#: called with (image name, a line of progress) during long steps (the Debian rootfs)
Step = Callable[[str, str], None]
_step: Step | None = None


def set_step(fn: Step | None) -> None:
    global _step
    _step = fn


def step(name: str, line: str) -> None:
    if _step is not None:
        _step(name, line)


DEBIAN_SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"


# --------------------------------------------------------------------------- host helpers


def run(cmd: list[str], *, cwd: Path | None = None, input: bytes | None = None) -> str:
    proc = subprocess.run(cmd, cwd=cwd, input=input, capture_output=True, check=False)
    if proc.returncode != 0:
        out = (proc.stderr or proc.stdout).decode(errors="replace").strip()
        raise RuntimeError(f"{' '.join(cmd[:3])} ... failed ({proc.returncode}): {out[-2000:]}")
    return proc.stdout.decode(errors="replace")


def run_with_progress(name: str, cmd: list[str]) -> None:
    """Run ``cmd``, passing each line it prints to :func:`step`; RuntimeError with its tail on failure."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    tail: list[str] = []
    assert proc.stdout is not None
    for raw in proc.stdout:
        line = raw.decode(errors="replace").rstrip()
        tail = [*tail[-40:], line]
        if line:
            step(name, line)
    if proc.wait() != 0:
        out = "\n".join(tail)
        raise RuntimeError(f"{' '.join(cmd[:3])} ... failed ({proc.returncode}): {out[-2000:]}")


def _dpkg_installed(pkg: str) -> bool:
    proc = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True, text=True, check=False
    )
    return proc.returncode == 0 and "install ok installed" in proc.stdout


_apt_updated = False


def need_packages(pkgs: Iterable[str]) -> None:
    """apt-get install the Debian packages that are missing (once apt-get update has run)."""
    global _apt_updated
    missing = [p for p in pkgs if not _dpkg_installed(p)]
    if not missing:
        return
    if shutil.which("apt-get") is None:
        raise RuntimeError(f"missing packages {missing} and no apt-get to install them")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if not _apt_updated:
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env, capture_output=True)
        _apt_updated = True
    subprocess.run(["apt-get", "install", "-y", "-q", *missing], check=True, env=env, capture_output=True)


def debian_mirror() -> str:
    """The Debian mirror apt uses on this machine (deb822 or one-line sources), else deb.debian.org."""
    files = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    for f in files:
        try:
            text = f.read_text()
        except OSError:
            continue
        if f.suffix == ".sources":
            for stanza in re.split(r"\n\s*\n", text):
                fields: dict[str, str] = {}
                for ln in stanza.splitlines():
                    key, sep, value = ln.partition(":")
                    if sep and not ln.lstrip().startswith("#"):
                        fields[key.strip().lower()] = value.strip()
                suites = fields.get("suites", "").split()
                if DEBIAN_SUITE in suites and "main" in fields.get("components", "").split():
                    return fields.get("uris", "").split()[0]
        else:
            for ln in text.splitlines():
                m = re.match(r"\s*deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+(\S+)\s+.*\bmain\b", ln)
                if m and m.group(2) == DEBIAN_SUITE:
                    return m.group(1)
    return DEFAULT_MIRROR


def sha(parts: Iterable[bytes]) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(hashlib.sha256(p).digest())
    return h.hexdigest()


@contextlib.contextmanager
def build_lock() -> Iterator[None]:
    """One builder at a time on this machine (tests may call ensure_images concurrently)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# --------------------------------------------------------------------------- docker helpers


def image_labels(refs: list[str]) -> dict[str, tuple[str, str]]:
    """{ref: (image id, recipe label)} for the refs that exist, in one `docker image inspect`."""
    if not refs:
        return {}
    proc = subprocess.run(["docker", "image", "inspect", *refs], capture_output=True, check=False)
    found: dict[str, tuple[str, str]] = {}
    try:
        items = json.loads(proc.stdout or b"[]")
    except json.JSONDecodeError:
        items = []
    if proc.returncode != 0 and not items and b"No such image" not in proc.stderr:
        raise RuntimeError(f"docker image inspect failed: {proc.stderr.decode(errors='replace').strip()}")
    for it in items:
        labels = (it.get("Config") or {}).get("Labels") or {}
        for rt in it.get("RepoTags") or []:
            found[rt] = (it["Id"], labels.get(LABEL, ""))
    # `busybox` and `busybox:latest` are the same ref; docker reports the :latest form
    out: dict[str, tuple[str, str]] = {}
    for ref in refs:
        full = ref if ":" in ref.rsplit("/", 1)[-1] else f"{ref}:latest"
        if full in found:
            out[ref] = found[full]
    return out


def docker_build(ctx: Path, tags: list[str], recipe: str) -> None:
    cmd = ["docker", "build", "-q", "--label", f"{LABEL}={recipe}"]
    for t in tags:
        cmd += ["-t", t]
    run([*cmd, str(ctx)], cwd=ctx)


def fresh_context(name: str) -> Path:
    ctx = CACHE / "ctx" / name
    if ctx.exists():
        shutil.rmtree(ctx)
    ctx.mkdir(parents=True)
    return ctx


def compile_static(src: Path, out: Path) -> None:
    need_packages(["gcc", "libc6-dev"])
    run(["gcc", "-O2", "-static", "-s", "-o", str(out), str(src)])
