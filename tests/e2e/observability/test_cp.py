"""``jetkube cp`` to and from a busybox container on Docker: a directory with binary files goes in
and comes back out byte for byte."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.waiting import jetkube


async def test_cp_round_trips_a_directory_with_binary_files(nodes: Any, tmp_path: Path) -> None:
    cluster = await nodes(1)
    await cluster.pod("box", cluster.names[0], "exec sleep 3600")
    src = tmp_path / "src"
    (src / "deep" / "er").mkdir(parents=True)
    blob = bytes(range(256)) * 300
    (src / "deep" / "er" / "blob.bin").write_bytes(blob)
    (src / "text.txt").write_text("hello\n")

    code, out, err = await jetkube(cluster.url, "cp", str(src), "box:/tmp/copied")
    assert (code, out) == (0, ""), err
    code, out, err = await jetkube(cluster.url, "exec", "box", "--", "cat", "/tmp/copied/text.txt")
    assert (code, out) == (0, "hello\n"), err

    back = tmp_path / "back"
    code, out, err = await jetkube(cluster.url, "cp", "box:/tmp/copied", str(back))
    assert (code, out) == (0, ""), err
    assert (back / "deep" / "er" / "blob.bin").read_bytes() == blob
    assert (back / "text.txt").read_text() == "hello\n"

    code, _, err = await jetkube(cluster.url, "cp", "box:/no/such", str(tmp_path / "x"))
    assert code == 1 and "/no/such: No such file or directory" in err


async def test_attach_prints_the_output_from_now_on(nodes: Any) -> None:
    from tests.waiting import line_with, start_jetkube

    cluster = await nodes(1)
    script = "i=0; while :; do i=$((i+1)); echo tick-$i; sleep 0.2; done"
    await cluster.pod("ticker", cluster.names[0], script)
    proc = await start_jetkube(cluster.url, "attach", "ticker")
    try:
        first = await line_with(proc, "tick-")
        later = await line_with(proc, "tick-")
        assert int(later.strip().split("-")[1]) > int(first.strip().split("-")[1])
    finally:
        proc.terminate()
        await proc.wait()
    code, _, err = await jetkube(cluster.url, "attach", "ticker", "-i")
    assert code == 1 and "cannot attach -i: container c of pod ticker has no stdin" in err
