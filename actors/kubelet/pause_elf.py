"""The bytes of the kubelet's infra (pause) image: a static x86-64 executable and its build context.

Pure (no I/O, standard library only, so ``cli/images`` and the ``images/build.py`` wrapper can
use it without the project's dependencies); pause_image.py sends it to the engine.

What the program does, as Kubernetes' pause does for a pod: it holds the sandbox (the network
namespace lives while it runs) and exits 0 on SIGTERM or SIGINT. As PID 1 of its namespace it gets
no default signal actions, so it blocks SIGTERM and SIGINT and waits for them with
``rt_sigtimedwait`` (a blocked signal is queued even for PID 1, and no handler or restorer is
needed); SIGCHLD is ignored, so the kernel reaps any child re-parented to it (a pod sharing its
process namespace). 213 bytes: the ELF header, one program header, 93 bytes of code.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import platform
import struct
import tarfile

LABEL = "io.jetkube.recipe"
RECIPE_VERSION = b"1"  # as cli/images/build.py's RECIPE_VERSION: the two hashes must agree
LOAD_ADDRESS = 0x400000
ELF_HEADER_SIZE = 64
PROGRAM_HEADER_SIZE = 56

DOCKERFILE = b"""\
FROM scratch
COPY pause /pause
ENTRYPOINT ["/pause"]
"""

# x86-64 machine code, Linux syscall ABI (rax = number; rdi, rsi, rdx, r10 = arguments).
_CODE = bytes.fromhex(
    # sigset {SIGINT, SIGTERM} = 1<<1 | 1<<14 on the stack; rt_sigprocmask(SIG_BLOCK, &set, 0, 8)
    "6802400000"  # push 0x4002
    "4889e6"  # mov rsi, rsp
    "31ff"  # xor edi, edi            (SIG_BLOCK)
    "31d2"  # xor edx, edx
    "41ba08000000"  # mov r10d, 8     (sizeof sigset)
    "b80e000000"  # mov eax, 14       (rt_sigprocmask)
    "0f05"  # syscall
    # rt_sigaction(SIGCHLD, {handler=SIG_IGN, flags=0, restorer=0, mask=0}, 0, 8)
    "6a00"  # push 0 (mask)
    "6a00"  # push 0 (restorer)
    "6a00"  # push 0 (flags)
    "6a01"  # push 1 (SIG_IGN)
    "4889e6"  # mov rsi, rsp
    "bf11000000"  # mov edi, 17       (SIGCHLD)
    "31d2"  # xor edx, edx
    "41ba08000000"  # mov r10d, 8
    "b80d000000"  # mov eax, 13       (rt_sigaction)
    "0f05"  # syscall
    "4883c420"  # add rsp, 32         (back to the sigset)
    # wait: rt_sigtimedwait(&set, NULL, NULL, 8) until it returns a signal number (> 0)
    "4889e7"  # mov rdi, rsp
    "31f6"  # xor esi, esi
    "31d2"  # xor edx, edx
    "41ba08000000"  # mov r10d, 8
    "b880000000"  # mov eax, 128      (rt_sigtimedwait)
    "0f05"  # syscall
    "85c0"  # test eax, eax
    "7ee8"  # jle wait                (-24: EINTR and friends wait again)
    # exit_group(0)
    "31ff"  # xor edi, edi
    "b8e7000000"  # mov eax, 231      (exit_group)
    "0f05"  # syscall
)


def pause_elf() -> bytes:
    """The static x86-64 ELF executable: one PT_LOAD segment (R+X) mapping the whole file."""
    code_offset = ELF_HEADER_SIZE + PROGRAM_HEADER_SIZE
    size = code_offset + len(_CODE)
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)  # 64-bit, little endian, v1, System V
    header = ident + struct.pack(
        "<HHIQQQIHHHHHH",
        2,  # ET_EXEC
        0x3E,  # EM_X86_64
        1,  # EV_CURRENT
        LOAD_ADDRESS + code_offset,  # entry point
        ELF_HEADER_SIZE,  # program headers follow the ELF header
        0,  # no section headers
        0,  # flags
        ELF_HEADER_SIZE,
        PROGRAM_HEADER_SIZE,
        1,  # one program header
        0,
        0,
        0,
    )
    segment = struct.pack(
        "<IIQQQQQQ",
        1,  # PT_LOAD
        5,  # PF_R | PF_X
        0,  # from the file's start
        LOAD_ADDRESS,
        LOAD_ADDRESS,
        size,
        size,
        0x1000,
    )
    return header + segment + _CODE


def recipe_hash() -> str:
    """The ``io.jetkube.recipe`` label of the image: the hash cli/images/build.py gives the same
    recipe (sha256 over the sha256 of each input)."""
    h = hashlib.sha256()
    for part in (RECIPE_VERSION, DOCKERFILE, pause_elf()):
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()


def build_context() -> bytes:
    """The build context: a gzip'd tar with the Dockerfile and the executable ``pause``."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, data, mode in (("Dockerfile", DOCKERFILE, 0o644), ("pause", pause_elf(), 0o755)):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode, 0
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


def supported() -> bool:
    return platform.machine().lower() in ("x86_64", "amd64")
