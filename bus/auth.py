"""Who may say what on NATS: the roles, their credentials and the server's permission blocks.

jetkube's identity is the NATS user a connection authenticated as; nothing in a payload can change
it. Every authenticated client sends its api requests on ``jetkube.api.u.<user>.<verb>``, a subject
that only that NATS user may publish to, and receives replies on its own inbox prefix
``_INBOX.<user>.>``, which only it may subscribe to. The api actor reads the user from the subject
(:func:`user_info`) and authorizes the request (RBAC, the node authorizer).

Roles (NATS users):

* ``controlplane``: everything (``>``). The api actor and the controllers; it alone may write the
  state bucket (``$KV.jetkube.>``) and publish on the unprefixed ``jetkube.api.<verb>`` subjects,
  which the api therefore trusts as the control plane's own (with auth off, anyone's).
* ``admin``: its api subject, every node's ``jetkube.node.>`` (logs, exec, port-forward, stats;
  ``_INBOX.>`` for the chunks port-forward sends to the kubelet's inbox),
  ``jetkube.health[.>]`` and ``jetkube.metrics.history`` requests, subscriptions to
  ``jetkube.logs.>``/``jetkube.events.>``, and read-only access to every stream through the
  JetStream API (the fast list/watch path on the state bucket); writes to ``$KV.jetkube.>`` and
  stream management are denied.
* ``viewer``: its api subject only; reads go through the api, which applies RBAC.
* ``node-<name>`` (one per kubelet; dots of the node name become ``_``): its api subject, its own
  ``jetkube.nodepods.<node>`` and ``jetkube.node.<node token>.>`` (the node name with its dots as
  ``_``: one token, so ``n2`` cannot reach ``n2.example``'s subjects) (subscribe and publish: any new
  per-node service is covered), publishing events (``jetkube.events.>``), cluster logs
  (``jetkube.logs.>``) and its health beat (``$KV.jetkube-health.>``), answering
  ``jetkube.health[.>]``, and ``_INBOX.>`` for the replies and log streams it sends to clients.
  Kubernetes user ``system:node:<name>``.
* ``hollow-nodes``: a fleet of simulated kubelets (``jetkube hollow-nodes --credentials FILE``).
  As a node, but for every node (it runs many): its api subject, every ``jetkube.nodepods.*``
  (NATS cannot match a node-name prefix: the relay's pod messages of other nodes are readable,
  never writable), events, its health beat, ``_INBOX.>``. No state-bucket writes, so its heartbeats
  go through the api. Kubernetes user ``system:hollow-nodes``, which the api lets touch only Nodes
  labelled ``type=hollow`` and the pods bound to them (actors/api/authz/hollow.py).

Credentials are random passwords kept in ``<data-dir>/auth.json`` (mode 0600) and created once, so a
restarted ``jetkube up`` keeps them. Lifecycle: pure functions plus two file helpers; no I/O on NATS.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

API_USER_PREFIX = "jetkube.api.u"
ADMIN = "admin"
CONTROLPLANE = "controlplane"
VIEWER = "viewer"
NODE_PREFIX = "node-"
HOLLOW = "hollow-nodes"
HOLLOW_GROUP = "system:hollow-nodes"
MASTERS = "system:masters"
NODES_GROUP = "system:nodes"
AUTHENTICATED = "system:authenticated"
STATE_STREAM = "KV_jetkube"
EVENTS_STREAM = "JETKUBE_EVENTS"
LOGS_STREAM = "JETKUBE_LOGS"
HEALTH_BUCKET = "jetkube-health"
STATE_WRITES = "$KV.jetkube.>"


def node_token(node: str) -> str:
    """A node name as one subject token: its dots become ``_`` (node names are DNS subdomains, which
    have no ``_``), so no node's subjects are a prefix of another's (``n2`` vs ``n2.example``)."""
    return node.replace(".", "_")


def node_user(node: str) -> str:
    """The NATS user of a node's kubelet: one subject token (node names have no ``_``)."""
    return NODE_PREFIX + node_token(node)


NODE_SUBJECT_PREFIX = "jetkube.node"


def node_subject(node: str, verb: str) -> str:
    """``jetkube.node.<node token>.<verb>``: a kubelet's own services (logs, exec, stats, ...)."""
    return f"{NODE_SUBJECT_PREFIX}.{node_token(node)}.{verb}"


#: The users a kubelet's server answers when NATS auth is on (the cluster's admins and the control
#: plane): a request's reply inbox names who asks, since only that user may subscribe to it.
KUBELET_CLIENTS = ("admin", "controlplane")


def requester_of(reply: str | None) -> str | None:
    """The NATS user whose inbox ``reply`` is (``_INBOX.<user>.…``), or None."""
    parts = (reply or "").split(".")
    return parts[1] if len(parts) >= 3 and parts[0] == "_INBOX" and parts[1] else None


def inbox_prefix(user: str) -> str:
    return f"_INBOX.{user}"


def api_subject(user: str, verb: str) -> str:
    return f"{API_USER_PREFIX}.{user}.{verb}"


@dataclass(frozen=True)
class UserInfo:
    """A Kubernetes user as the authorizers see it."""

    name: str
    groups: tuple[str, ...] = (AUTHENTICATED,)

    @property
    def is_master(self) -> bool:
        return MASTERS in self.groups

    @property
    def hollow(self) -> bool:
        """A fleet of hollow nodes (authorized by actors/api/authz/hollow.py)."""
        return HOLLOW_GROUP in self.groups and self.name == HOLLOW_GROUP

    @property
    def node(self) -> str | None:
        if NODES_GROUP in self.groups and self.name.startswith("system:node:"):
            return self.name.removeprefix("system:node:")
        return None


# Requests on the unprefixed subjects: only the control plane may publish there once auth is on.
TRUSTED = UserInfo("system:kube-controller-manager", (MASTERS, AUTHENTICATED))


def user_info(nats_user: str) -> UserInfo:
    """The Kubernetes user behind a NATS user (the token of ``jetkube.api.u.<user>.<verb>``)."""
    if nats_user == ADMIN:
        return UserInfo("admin", (MASTERS, AUTHENTICATED))
    if nats_user == CONTROLPLANE:
        return TRUSTED
    if nats_user.startswith(NODE_PREFIX):
        node = nats_user.removeprefix(NODE_PREFIX).replace("_", ".")
        return UserInfo(f"system:node:{node}", (NODES_GROUP, AUTHENTICATED))
    if nats_user == HOLLOW:
        return UserInfo(HOLLOW_GROUP, (HOLLOW_GROUP, AUTHENTICATED))
    return UserInfo(nats_user, (AUTHENTICATED,))


def impersonated(name: str, groups: list[str] | None = None) -> UserInfo:
    """The user named by ``--as`` (``--as-group`` adds groups; node users get system:nodes)."""
    extra = list(groups or [])
    if name.startswith("system:node:") and NODES_GROUP not in extra:
        extra.append(NODES_GROUP)
    return UserInfo(name, tuple(dict.fromkeys([*extra, AUTHENTICATED])))


# --------------------------------------------------------------------------- permissions


def _stream_read_subjects() -> list[str]:
    """Reading any stream (state bucket, events, cluster logs, health beats) through the JetStream
    API: stream info, ephemeral consumers, direct gets. Stream creation, updates, purges, message
    deletes and KV writes are not in it."""
    return [
        "$JS.API.INFO",
        "$JS.API.STREAM.INFO.>",
        "$JS.API.STREAM.NAMES",
        "$JS.API.STREAM.LIST",
        "$JS.API.CONSUMER.>",
        "$JS.API.STREAM.MSG.GET.>",
        "$JS.API.DIRECT.GET.>",
        "$JS.FC.>",
        "$JS.ACK.>",
    ]


def permissions(user: str) -> dict[str, Any]:
    """The NATS permission block of a jetkube user (see the module docstring for the roles)."""
    if user == CONTROLPLANE:
        return {"publish": {"allow": [">"]}, "subscribe": {"allow": [">"]}}
    own_api = api_subject(user, "*")
    inbox = f"{inbox_prefix(user)}.>"
    if user == ADMIN:
        return {
            "publish": {
                "allow": [
                    own_api,
                    "jetkube.node.>",
                    "jetkube.health",
                    "jetkube.health.>",
                    "jetkube.metrics.history",
                    "_INBOX.>",
                    *_stream_read_subjects(),
                ],
                "deny": [STATE_WRITES, "jetkube.api.*"],
            },
            "subscribe": {"allow": [inbox, "jetkube.logs.>", "jetkube.events.>"]},
            "allow_responses": True,
        }
    if user.startswith(NODE_PREFIX):
        node = user.removeprefix(NODE_PREFIX).replace("_", ".")
        token = node_token(node)
        return {
            "publish": {
                "allow": [
                    own_api,
                    "jetkube.events.>",
                    "jetkube.logs.>",
                    f"{NODE_SUBJECT_PREFIX}.{token}.>",
                    f"$JS.API.STREAM.INFO.{EVENTS_STREAM}",
                    f"$JS.API.STREAM.INFO.{LOGS_STREAM}",
                    f"$JS.API.STREAM.INFO.KV_{HEALTH_BUCKET}",
                    f"$KV.{HEALTH_BUCKET}.>",
                    "_INBOX.>",
                ],
                "deny": [STATE_WRITES, "jetkube.api.*"],
            },
            "subscribe": {
                "allow": [
                    inbox,
                    f"jetkube.nodepods.{node}",
                    f"{NODE_SUBJECT_PREFIX}.{token}.>",
                    "jetkube.health",
                    "jetkube.health.>",
                ],
            },
            "allow_responses": True,
        }
    if user == HOLLOW:
        return {
            "publish": {
                "allow": [
                    own_api,
                    "jetkube.events.>",
                    f"$JS.API.STREAM.INFO.{EVENTS_STREAM}",
                    f"$JS.API.STREAM.INFO.KV_{HEALTH_BUCKET}",
                    f"$KV.{HEALTH_BUCKET}.>",
                    "_INBOX.>",
                ],
                "deny": [STATE_WRITES, "jetkube.api.*"],
            },
            "subscribe": {
                "allow": [inbox, "jetkube.nodepods.*", "jetkube.health", "jetkube.health.>"],
            },
            "allow_responses": True,
        }
    # viewer, and any other user: the api, which authorizes it
    return {
        "publish": {"allow": [own_api], "deny": [STATE_WRITES, "jetkube.api.*"]},
        "subscribe": {"allow": [inbox]},
        "allow_responses": True,
    }


def authorization_block(users: dict[str, str]) -> str:
    """The nats-server config ``authorization { users = [...] }`` for ``{user: password}``."""
    lines = ["authorization {", "  users = ["]
    for user, password in sorted(users.items()):
        entry = {"user": user, "password": password, "permissions": permissions(user)}
        lines.append("    " + json.dumps(entry) + ",")
    lines += ["  ]", "}", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------- credential files


def new_password() -> str:
    return secrets.token_urlsafe(24)


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only (created 0600, never world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


@dataclass
class Credentials:
    """The users of one cluster and their passwords (``auth.json`` in the data dir)."""

    users: dict[str, str] = field(default_factory=dict)

    def ensure(self, *names: str) -> bool:
        """Add the missing users with new passwords; True when anything was added."""
        added = False
        for name in names:
            if name not in self.users:
                self.users[name] = new_password()
                added = True
        return added

    @classmethod
    def load_or_create(cls, path: Path, *names: str) -> Credentials:
        creds = cls(json.loads(path.read_text())["users"]) if path.exists() else cls()
        if creds.ensure(*names) or not path.exists():
            write_private(path, json.dumps({"users": creds.users}, indent=2, sort_keys=True))
        return creds


def credentials_file_text(server: str, user: str, password: str) -> str:
    """A kubelet's credentials file (``jetkube kubelet --credentials FILE``)."""
    return json.dumps({"server": server, "user": user, "password": password}, indent=2) + "\n"


def read_credentials_file(path: Path) -> dict[str, str]:
    data = json.loads(Path(path).read_text())
    if not isinstance(data, dict) or not data.get("user") or not data.get("password"):
        raise ValueError(f"{path}: expected a JSON object with user and password")
    return {k: str(v) for k, v in data.items()}


def url_with_credentials(server: str, path: str | Path | None) -> str:
    """``server`` with the user and password of a credentials file in it (``Bus.connect`` logs in
    with them); unchanged without a file."""
    if not path:
        return server
    import urllib.parse

    data = read_credentials_file(Path(path))
    cred = f"{urllib.parse.quote(data['user'], safe='')}:{urllib.parse.quote(data['password'], safe='')}@"
    return ",".join(p.replace("://", f"://{cred}", 1) if "://" in p else cred + p for p in server.split(","))
