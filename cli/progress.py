"""What a long command is waiting for, on stderr: one line rewritten in place on a terminal, plain
lines otherwise.

    status = StatusLine()                      # stderr; a terminal or not is asked of the stream
    while not done:
        status.show(f"waiting for 2 pods to terminate: default/a, default/b")
        ...
    status.clear()                             # before the result is printed (or use `with`)

Used by ``drain``, ``rolling-update``, ``wait`` and ``delete --wait`` while they poll. ``rollout
status`` follows kubectl instead: its "Waiting for deployment ... N of M updated replicas are
available..." lines go to stdout, one per change, as kubectl prints them; it uses no status line.

Rules, so that scripts can trust the output:

* Only stderr: stdout carries what kubectl prints there and nothing else.
* Nothing before ``delay`` seconds (1 s) of waiting: a wait that ends at once prints nothing, so a
  command that finishes quickly has the same stderr as before.
* On a terminal the line is redrawn in place (``\\r`` and erase-line) with the time waited so far,
  at most every ``every_tty`` seconds, and erased by :meth:`clear`; a line printed on stdout in
  between (:meth:`echo`) erases it first, so the two never mix on one row.
* Otherwise (a pipe, a file, CI logs) a plain line is written when the text changes, and the same
  text again at most every ``every_plain`` seconds (10 s) with the time waited, so a log shows the
  wait is alive without a line per poll.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

ERASE = "\r\x1b[K"


def format_elapsed(seconds: float) -> str:
    """``7s``, ``1m05s``, ``1h02m``."""
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m}m{s:02d}s"
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m"


class StatusLine:
    def __init__(
        self,
        out: TextIO | None = None,
        *,
        tty: bool | None = None,
        delay: float = 1.0,
        every_tty: float = 0.1,
        every_plain: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.out = out if out is not None else sys.stderr
        self.tty = bool(getattr(self.out, "isatty", lambda: False)()) if tty is None else tty
        self.delay = delay
        self.every = every_tty if self.tty else every_plain
        self.clock = clock
        self.started = clock()
        self.text = ""  # the last text shown
        self.shown_at: float | None = None
        self.drawn = False  # a line is on the terminal's current row

    def restart(self) -> None:
        """A new wait begins (the delay and the time waited count from now)."""
        self.clear()
        self.started = self.clock()
        self.text, self.shown_at = "", None

    def show(self, text: str) -> None:
        """Say what is waited for now (called at every poll; it decides whether to write)."""
        now = self.clock()
        waited = now - self.started
        if waited < self.delay:
            return
        changed = text != self.text
        if not changed and self.shown_at is not None and now - self.shown_at < self.every:
            return
        self.text, self.shown_at = text, now
        line = f"{text} ({format_elapsed(waited)})"
        if self.tty:
            self.out.write(ERASE + line)
            self.drawn = True
        else:
            self.out.write(line + "\n")
        self.out.flush()

    def clear(self) -> None:
        """Erase the terminal's line (nothing to do for plain lines)."""
        if self.tty and self.drawn:
            self.out.write(ERASE)
            self.out.flush()
            self.drawn = False

    def echo(self, line: str, out: TextIO | None = None) -> None:
        """Print a result line (stdout by default) without mixing it with the status line."""
        self.clear()
        target = out if out is not None else sys.stdout
        target.write(line + "\n")
        target.flush()

    def __enter__(self) -> StatusLine:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.clear()
