"""The status line of long waits (cli/progress.py) and the lines drain and delete --wait give it."""

from __future__ import annotations

import io

from cli.commands.delete import Awaited
from cli.commands.drain import waiting_line
from cli.progress import ERASE, StatusLine, format_elapsed


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_nothing_is_said_before_the_delay() -> None:
    out, clock = io.StringIO(), Clock()
    status = StatusLine(out, tty=False, clock=clock)
    clock.now = 0.5
    status.show("waiting for pods/a: delete")
    assert out.getvalue() == ""


def test_plain_lines_when_the_text_changes_and_now_and_then() -> None:
    out, clock = io.StringIO(), Clock()
    status = StatusLine(out, tty=False, clock=clock)
    for t, text in [(1.0, "a"), (1.5, "a"), (2.0, "b"), (5.0, "b"), (12.5, "b")]:
        clock.now = t
        status.show(text)
    status.clear()
    assert out.getvalue() == "a (1s)\nb (2s)\nb (12s)\n"


def test_on_a_terminal_the_line_is_redrawn_in_place_and_erased() -> None:
    out, clock = io.StringIO(), Clock()
    status = StatusLine(out, tty=True, clock=clock)
    clock.now = 1.0
    status.show("waiting")
    clock.now = 3.0
    status.show("waiting")
    status.clear()
    assert out.getvalue() == f"{ERASE}waiting (1s){ERASE}waiting (3s){ERASE}"


def test_echo_erases_the_line_before_a_result() -> None:
    err, out, clock = io.StringIO(), io.StringIO(), Clock()
    status = StatusLine(err, tty=True, clock=clock)
    clock.now = 2.0
    status.show("waiting")
    status.echo("pod/a evicted", out)
    assert (err.getvalue(), out.getvalue()) == (f"{ERASE}waiting (2s){ERASE}", "pod/a evicted\n")


def test_restart_counts_the_delay_again() -> None:
    out, clock = io.StringIO(), Clock()
    status = StatusLine(out, tty=False, clock=clock)
    clock.now = 5.0
    status.restart()
    clock.now = 5.5
    status.show("x")
    assert out.getvalue() == ""


def test_format_elapsed() -> None:
    assert [format_elapsed(s) for s in (7, 65, 3720)] == ["7s", "1m05s", "1h02m"]


def test_drain_names_the_first_pods_awaited() -> None:
    pods = [("default", f"p{i}", "") for i in range(5)]
    assert waiting_line(pods[:1]) == "waiting for 1 pod to terminate: default/p0"
    assert waiting_line(pods) == (
        "waiting for 5 pods to terminate: default/p0, default/p1, default/p2 and 2 more"
    )


def test_delete_wait_names_what_holds_each_object() -> None:
    awaited = Awaited()
    awaited.still("pods/a", " (grace period 30s)")
    awaited.still("namespaces/ns", " (finalizers: kubernetes)")
    awaited.still("pods/b", "")
    assert awaited.line() == (
        "waiting for 3 to be gone: pods/a (grace period 30s),"
        " namespaces/ns (finalizers: kubernetes) and 1 more"
    )
    awaited.gone("pods/a")
    assert awaited.line().startswith("waiting for 2 to be gone: namespaces/ns")
