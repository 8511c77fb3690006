"""cp's archive helpers: file specs, a tar round trip through base64 chunks, unsafe entries refused."""

from __future__ import annotations

import io
import shlex
import tarfile

import pytest

from cli.copying import CHUNK, decode_output, pack, split_remote, unpack, write_commands
from schemas.errors import BadRequest


@pytest.mark.parametrize(
    ("arg", "parsed"),
    [("web:/tmp/a", ("web", "/tmp/a")), ("/tmp/a", None), ("./x:y", None), ("local", None)],
)
def test_split_remote(arg, parsed):
    assert split_remote(arg) == parsed


def test_pack_chunks_and_unpack_round_trip(tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    blob = bytes(range(256)) * 400  # binary, and more than one chunk once in base64
    (src / "sub" / "blob.bin").write_bytes(blob)
    (src / "note.txt").write_text("hi\n")
    data = pack(src, "copy")
    commands = write_commands(data, "/tmp/dest/copy", "/tmp/.scratch")
    chunks = [shlex.split(c[2])[2] for c in commands[1:-1]]
    assert len(chunks) > 1 and all(len(c) <= CHUNK for c in chunks)
    assert "tar xf - -C /tmp/dest" in commands[-1][2]
    unpack(decode_output("\n".join(chunks)), "copy", tmp_path / "out")
    assert (tmp_path / "out" / "sub" / "blob.bin").read_bytes() == blob
    assert (tmp_path / "out" / "note.txt").read_text() == "hi\n"


def test_unsafe_entries_are_refused(tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("top/../../evil")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(BadRequest, match="outside"):
        unpack(buf.getvalue(), "top", tmp_path / "out")
    assert not (tmp_path / "evil").exists()


def test_output_that_is_not_an_archive():
    with pytest.raises(BadRequest, match="not an archive"):
        decode_output("tar: can't open 'x': No such file or directory")
