"""``jetkube cp``'s archive work, pure: tar in memory, base64 in shell-safe chunks, safe extraction.

The kubelet's exec has no stdin and returns text, so the bytes travel as base64 (busybox has
``base64`` and ``tar``, as kubectl cp needs ``tar`` in the container): out of a pod as the output of
``tar cf - NAME | base64``; into a pod as chunks appended to a temporary file, then
``base64 -d FILE | tar xf -``.
"""

from __future__ import annotations

import base64
import io
import shlex
import tarfile
from pathlib import Path, PurePosixPath

from schemas.errors import BadRequest

CHUNK = 48 * 1024  # base64 characters per exec: well inside one NATS message and ARG_MAX


def split_remote(arg: str) -> tuple[str, str] | None:
    """``POD:PATH`` -> (pod, path); None for a local path (``./a:b`` and ``/x:y`` stay local)."""
    if arg.startswith(("/", ".")) or ":" not in arg:
        return None
    pod, _, path = arg.partition(":")
    if not pod or not path:
        raise BadRequest(f"{arg!r} is not a valid file spec: use POD:PATH")
    return pod, path


def pack(source: Path, arcname: str) -> bytes:
    """A tar of ``source`` (file or directory) whose top entry is ``arcname``."""
    if not source.exists():
        raise BadRequest(f"{source} doesn't exist in local filesystem")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(str(source), arcname=arcname)
    return buf.getvalue()


def unpack(data: bytes, top: str, dest: Path) -> None:
    """Extract a tar whose entries start with ``top`` so that ``top`` becomes ``dest``; entries that
    leave ``dest`` (absolute, ``..``, links outside) are refused, as kubectl refuses them."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r") as tar:
        for member in tar.getmembers():
            parts = PurePosixPath(member.name).parts
            if not parts or parts[0] != top or ".." in parts or PurePosixPath(member.name).is_absolute():
                raise BadRequest(f"refusing to copy {member.name!r}: it is outside {top!r}")
            if member.issym() or member.islnk():
                continue  # kubectl skips links too
            target = dest.joinpath(*parts[1:]) if len(parts) > 1 else dest
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
            elif member.isfile():
                target.parent.mkdir(parents=True, exist_ok=True)
                stream = tar.extractfile(member)
                target.write_bytes(stream.read() if stream else b"")
                target.chmod(member.mode & 0o777 | 0o600)


def read_command(path: str) -> list[str]:
    """The command that prints ``path`` (file or directory) as base64 of a tar whose top is its name."""
    p = PurePosixPath(path)
    parent, name = str(p.parent), p.name
    q = shlex.quote
    script = (
        f"[ -e {q(path)} ] || {{ echo {q(path + ': No such file or directory')} >&2; exit 2; }}; "
        f"cd {q(parent)} && tar cf - {q(name)} | base64"
    )
    return ["sh", "-c", script]


def write_commands(data: bytes, dest: str, scratch: str) -> list[list[str]]:
    """Commands that rebuild ``data`` (a tar whose top is ``dest``'s name) in ``dest``'s directory."""
    text = base64.b64encode(data).decode()
    q = shlex.quote
    parent = str(PurePosixPath(dest).parent)
    out = [["sh", "-c", f": > {q(scratch)}"]]
    for i in range(0, len(text), CHUNK):
        out.append(["sh", "-c", f"printf %s {q(text[i : i + CHUNK])} >> {q(scratch)}"])
    out.append(
        [
            "sh",
            "-c",
            f"mkdir -p {q(parent)} && base64 -d {q(scratch)} | tar xf - -C {q(parent)}; "
            f"s=$?; rm -f {q(scratch)}; exit $s",
        ]
    )
    return out


def decode_output(text: str) -> bytes:
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except ValueError:
        raise BadRequest(f"the container's output is not an archive: {text[:200]!r}") from None
