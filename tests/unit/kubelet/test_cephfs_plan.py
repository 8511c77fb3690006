"""The CephFS plugin's decisions: what a ``cephfs`` source mounts, and the command that does it."""

from __future__ import annotations

from pathlib import Path

import pytest

from actors.kubelet.cephfs import DEFAULT_SECRET_FILE, keyring_text, mount_command, plan_mount
from actors.kubelet.mounts import mounts_under
from actors.kubelet.volume_files import MountError

MONS = ["10.16.154.78:6789", "10.16.154.82:6789"]
T = Path("/k/pods/u/volumes/cephfs/fs")
K = Path("/k/pods/u/volumes/cephfs-keys/fs/ceph.client.admin.keyring")


def test_plan_defaults_and_secret_ref() -> None:
    m = plan_mount({"monitors": MONS, "secretRef": {"name": "s"}}, key="KEY")
    assert (m.user, m.path, m.read_only, m.key, m.secret_file) == ("admin", "/", False, "KEY", None)


def test_plan_secret_file_path_and_read_only() -> None:
    m = plan_mount({"monitors": MONS, "user": "u", "path": "sub/dir", "readOnly": True}, key=None)
    assert (m.user, m.path, m.read_only, m.secret_file) == ("u", "/sub/dir", True, DEFAULT_SECRET_FILE)
    m = plan_mount({"monitors": MONS, "secretFile": "/etc/ceph/x.secret"}, key=None)
    assert m.secret_file == "/etc/ceph/x.secret"


def test_plan_needs_monitors() -> None:
    with pytest.raises(MountError, match="monitors"):
        plan_mount({"monitors": []}, key=None)


def test_fuse_command_with_keyring_path_and_ro() -> None:
    m = plan_mount({"monitors": MONS, "path": "/a", "readOnly": True}, key="KEY")
    cmd = mount_command(m, "fuse", T, K)
    assert cmd[0] == "ceph-fuse"
    assert cmd[cmd.index("-m") + 1] == ",".join(MONS)
    assert cmd[cmd.index("--id") + 1] == "admin"
    assert cmd[cmd.index("--keyring") + 1] == str(K)
    assert cmd[cmd.index("--client_mountpoint") + 1] == "/a"
    assert cmd[-3:] == [str(T), "-o", "ro"]
    assert "KEY" not in " ".join(cmd), "the key never goes on a command line"


def test_fuse_command_with_secret_file_is_rw() -> None:
    m = plan_mount({"monitors": MONS, "secretFile": "/s"}, key=None)
    cmd = mount_command(m, "fuse", T, None)
    assert cmd[cmd.index("--keyfile") + 1] == "/s" and "ro" not in cmd and cmd[-1] == str(T)


def test_kernel_command() -> None:
    m = plan_mount({"monitors": MONS, "path": "/a", "user": "u", "readOnly": True}, key="KEY")
    cmd = mount_command(m, "kernel", T, Path("/keys/secret"))
    assert cmd == [
        "mount",
        "-t",
        "ceph",
        f"{','.join(MONS)}:/a",
        str(T),
        "-o",
        "name=u,secretfile=/keys/secret,ro",
    ]
    assert keyring_text(m, "kernel") == "KEY\n"
    assert keyring_text(m, "fuse") == "[client.u]\n\tkey = KEY\n"


def test_mounts_under_lists_only_that_tree_deepest_first(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    info = tmp_path / "mountinfo"
    info.write_text(
        "1 0 0:1 / / rw - ext4 /dev/vda rw\n"
        "2 1 0:2 / /k/pods/u/volumes/cephfs/fs rw - fuse.ceph-fuse ceph-fuse rw\n"
        "3 1 0:3 / /k/pods/u/volumes/empty-dir/m rw - tmpfs tmpfs rw\n"
        "4 1 0:4 / /k/pods/u2/volumes/cephfs/fs rw - fuse.ceph-fuse ceph-fuse rw\n"
        "5 2 0:5 / /k/pods/u/volumes/cephfs/fs/deeper/x rw - tmpfs tmpfs rw\n"
    )
    real_open = open
    monkeypatch.setattr(
        "builtins.open", lambda p, *a, **k: real_open(info if p == "/proc/self/mountinfo" else p, *a, **k)
    )
    assert mounts_under(Path("/k/pods/u")) == [
        "/k/pods/u/volumes/cephfs/fs/deeper/x",
        "/k/pods/u/volumes/cephfs/fs",
        "/k/pods/u/volumes/empty-dir/m",
    ]


async def test_a_hollow_node_mounts_nothing_on_the_host(tmp_path: Path) -> None:
    """FakeRuntime (hollow nodes) has no host mounts: its CephFS volume is an engine volume it records."""
    import asyncio
    import base64

    from actors.kubelet.fake_runtime import FakeRuntime
    from actors.kubelet.volumes import VolumeManager

    async def greet(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        w.write(b"ceph v027")  # a monitor's msgr v1 banner
        await w.drain()
        w.close()

    server = await asyncio.start_server(greet, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]

    class Api:
        async def get(self, kind: str, name: str, namespace: str | None = None) -> dict[str, object]:
            return {"data": {"key": base64.b64encode(b"KEY").decode()}}

    pod = {
        "metadata": {"name": "p", "namespace": "ns", "uid": "0123456789"},
        "spec": {
            "volumes": [
                {"name": "fs", "cephfs": {"monitors": [f"127.0.0.1:{port}"], "secretRef": {"name": "s"}}}
            ]
        },
    }
    async with server:
        out = await VolumeManager(FakeRuntime(state_dir=tmp_path), Api(), "n").setup(pod)  # type: ignore[arg-type]
    assert out["fs"] == "jk-01234567-fs", "an engine volume's name, not a host path"
    assert not mounts_under(tmp_path)
