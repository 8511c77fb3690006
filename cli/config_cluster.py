"""What ``jetkube up`` sets up for security in its data dir, before the server starts.

* ``auth.json`` (0600): a random password for each NATS user of bus/auth.py (admin, controlplane,
  viewer, one per node), created once and kept across restarts;
* the ``authorization`` block of the embedded server's config (so ``jetkube up`` always requires
  credentials);
* ``encryption.json`` (0600): the Secrets encryption keys (actors/api/encryption.py);
* ``credentials/node-<name>.json`` (0600) for the local kubelet and every ``--nodes`` name, for
  ``jetkube kubelet --credentials FILE`` on other machines;
* ``credentials/hollow-nodes.json`` (0600) for ``jetkube hollow-nodes --credentials FILE``: simulated
  nodes with rights over hollow Nodes and their pods only (actors/api/authz/hollow.py);
* the client config's context ``admin@<cluster>`` (and ``viewer@<cluster>``), merged into
  ``$JETKUBE_CONFIG`` or ``~/.jetkube/config``; admin becomes the current context.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bus.auth import (
    ADMIN,
    CONTROLPLANE,
    HOLLOW,
    VIEWER,
    Credentials,
    authorization_block,
    credentials_file_text,
    node_user,
    write_private,
)


@dataclass
class ClusterAuth:
    data_dir: Path
    creds: Credentials

    @classmethod
    def prepare(cls, data_dir: Path, nodes: list[str]) -> ClusterAuth:
        users = [ADMIN, CONTROLPLANE, VIEWER, HOLLOW, *(node_user(n) for n in nodes if n)]
        creds = Credentials.load_or_create(data_dir / "auth.json", *users)
        return cls(data_dir, creds)

    @property
    def server_config(self) -> str:
        return authorization_block(self.creds.users)

    @property
    def key_file(self) -> Path:
        return self.data_dir / "encryption.json"

    def login(self, user: str) -> dict[str, str]:
        """``Bus.connect`` keyword arguments for ``user``."""
        return {"user": user, "password": self.creds.users[user]}

    def node_login(self, node: str) -> dict[str, str]:
        return self.login(node_user(node))

    def write_node_credentials(self, url: str, nodes: list[str]) -> list[Path]:
        out = []
        for node in nodes:
            user = node_user(node)
            path = self.data_dir / "credentials" / f"{user}.json"
            write_private(path, credentials_file_text(url, user, self.creds.users[user]))
            out.append(path)
        return out

    def write_hollow_credentials(self, url: str) -> Path:
        path = self.data_dir / "credentials" / f"{HOLLOW}.json"
        write_private(path, credentials_file_text(url, HOLLOW, self.creds.users[HOLLOW]))
        return path

    def write_client_config(self, url: str, cluster: str, *, ca: str | None = None) -> tuple[Path, str]:
        """Merge this cluster's contexts into the client config; (its path, the admin context).

        ``ca``: the certificate-authority file of a TLS server, kept in each context."""
        from cli import config as cfg

        data = cfg.load()
        admin_ctx = f"admin@{cluster}"
        tls = {"certificate-authority": ca} if ca else {}
        cfg.set_context(
            data,
            f"viewer@{cluster}",
            {"server": url, "user": VIEWER, "password": self.creds.users[VIEWER], **tls},
            current=False,
        )
        cfg.set_context(
            data, admin_ctx, {"server": url, "user": ADMIN, "password": self.creds.users[ADMIN], **tls}
        )
        return cfg.save(data), admin_ctx


def cluster_name(host: str, port: int) -> str:
    return "local" if (host, port) == ("127.0.0.1", 4222) else f"{host}-{port}"
