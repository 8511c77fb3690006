"""The kubelet's own pause executable (actors/kubelet/pause_elf.py), run on this host."""

from __future__ import annotations

import gzip
import io
import os
import signal
import struct
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from actors.kubelet.pause_elf import DOCKERFILE, LOAD_ADDRESS, build_context, pause_elf, supported

amd64 = pytest.mark.skipif(not supported(), reason="the generated pause is x86-64")


def test_elf_header_is_a_static_x86_64_executable() -> None:
    elf = pause_elf()
    assert elf[:4] == b"\x7fELF" and elf[4] == 2 and elf[5] == 1  # 64-bit little endian
    e_type, machine, _, entry, phoff = struct.unpack_from("<HHIQQ", elf, 16)
    assert (e_type, machine, phoff) == (2, 0x3E, 64)
    p_type, flags, offset, vaddr, _, filesz, memsz, _ = struct.unpack_from("<IIQQQQQQ", elf, 64)
    assert (p_type, flags, offset, vaddr) == (1, 5, 0, LOAD_ADDRESS)
    assert filesz == memsz == len(elf)
    assert LOAD_ADDRESS + 120 == entry  # code right after the one program header
    assert len(elf) < 512


def test_build_context_holds_the_dockerfile_and_an_executable_pause() -> None:
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(build_context()))) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert set(members) == {"Dockerfile", "pause"}
        assert members["pause"].mode & 0o111
        assert tar.extractfile("pause").read() == pause_elf()  # type: ignore[union-attr]
        assert tar.extractfile("Dockerfile").read() == DOCKERFILE  # type: ignore[union-attr]
    assert build_context() == build_context()  # deterministic: no timestamps


@amd64
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_pause_waits_then_exits_zero_on_stop_signals(tmp_path: Path, sig: signal.Signals) -> None:
    exe = tmp_path / "pause"
    exe.write_bytes(pause_elf())
    exe.chmod(0o755)
    proc = subprocess.Popen([str(exe)])
    try:
        time.sleep(0.2)  # let it reach its wait: a signal before the mask is set would kill it
        os.kill(proc.pid, signal.SIGCHLD)  # ignored: it keeps waiting
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(0.3)
        proc.send_signal(sig)
        assert proc.wait(5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
