"""A gateway in front of an in-process api (real nats-server), and the real kubectl against it.

The kubeconfig is the one ``jetkube up`` writes (cli/kubeconfig.py), in a temporary
``$KUBECONFIG``; ``$HOME`` is temporary too, so kubectl's cache and the user's config are untouched.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"
HAVE_KUBECTL = os.path.exists(KUBECTL)
ADMIN_TOKEN = "admin-token-for-tests"
VIEWER_TOKEN = "viewer-token-for-tests"


@dataclass
class Run:
    code: int
    out: str
    err: str


@dataclass
class Cluster:
    url: str
    env: dict[str, str]
    pki_dir: Path
    gateway: Any

    def with_token(self, token: str) -> Cluster:
        """The same cluster seen by a kubeconfig whose user is a bearer token (no certificate)."""
        path = Path(self.env["HOME"]) / f"kubeconfig-{abs(hash(token))}"
        ca = (self.pki_dir / "ca.crt").resolve()
        path.write_text(
            "apiVersion: v1\nkind: Config\ncurrent-context: t\n"
            f"clusters: [{{name: c, cluster: {{server: '{self.url}', certificate-authority: '{ca}'}}}}]\n"
            f"users: [{{name: u, user: {{token: '{token}'}}}}]\n"
            "contexts: [{name: t, context: {cluster: c, user: u}}]\n"
        )
        return Cluster(self.url, {**self.env, "KUBECONFIG": str(path)}, self.pki_dir, self.gateway)

    async def kubectl(self, *args: str, stdin: str | None = None, timeout: float = 30.0) -> Run:
        proc = await asyncio.create_subprocess_exec(
            KUBECTL,
            *args,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self.env,
        )
        out, err = await asyncio.wait_for(proc.communicate(stdin.encode() if stdin else None), timeout)
        return Run(int(proc.returncode or 0), out.decode(), err.decode())

    async def ok(self, *args: str, stdin: str | None = None) -> str:
        run = await self.kubectl(*args, stdin=stdin)
        assert run.code == 0, f"kubectl {' '.join(args)} failed ({run.code}): {run.err}"
        return run.out

    async def json(self, *args: str) -> Any:
        return json.loads(await self.ok(*args, "-o", "json"))


@pytest.fixture
async def cluster(bus: Any, control_plane: Any, tmp_path: Path) -> AsyncIterator[Cluster]:
    if not HAVE_KUBECTL:
        pytest.skip("no kubectl on this machine")
    from actors.gateway.server import Gateway
    from actors.runtime.supervisor import Supervisor
    from cli.kubeconfig import write_kubeconfig

    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "KUBECONFIG": str(tmp_path / "kubeconfig")}
    gw = Gateway(
        bus,
        pki_dir=tmp_path / "pki",
        tokens={ADMIN_TOKEN: "admin", VIEWER_TOKEN: "viewer"},
        host="127.0.0.1",
        port=0,
    )
    url = await gw.bind()
    old = os.environ.get("KUBECONFIG")
    os.environ["KUBECONFIG"] = env["KUBECONFIG"]
    try:
        write_kubeconfig("jetkube-test", url, tmp_path / "pki")
    finally:
        if old is None:
            os.environ.pop("KUBECONFIG", None)
        else:
            os.environ["KUBECONFIG"] = old
    sup = Supervisor("gateway-test")
    gw.start(sup)
    try:
        yield Cluster(url, env, tmp_path / "pki", gw)
    finally:
        await sup.stop()
