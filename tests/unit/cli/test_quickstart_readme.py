"""The README's quick start is what scripts/quickstart-check (run by CI) does: the same commands,
in the same order (the script may add options after them, and names its own paths)."""

from __future__ import annotations

import re
import shlex

from tests.seedpaths import ROOT


def words(cmd: str) -> list[str]:
    out = []
    for tok in shlex.split(cmd, comments=True):
        if tok.endswith((".yaml", ".yml")):
            out.append(tok.rsplit("/", 1)[-1])
        elif any(c in tok for c in "/~$"):
            out.append("<path>")
        else:
            out.append(tok)
    return out


def readme_commands() -> list[list[str]]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quick start", 1)[1].split("CI runs this quick start", 1)[0]
    cmds = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        for line in block.splitlines():
            for part in line.split("&&"):
                w = words(part)
                if w and w[0] != "cd":
                    cmds.append(w)
    return cmds


def script_commands() -> list[list[str]]:
    cmds = []
    for line in (ROOT / "scripts" / "quickstart-check").read_text().splitlines():
        line = line.strip().removeprefix("out=$(").rstrip(")")
        if line.startswith(("python3 -m venv", ". ", "pip install", "jetkube ")):
            cmds.append(words(line.rstrip("\\").replace(">", " >")))
    return cmds


def test_readme_quick_start_is_what_ci_runs() -> None:
    readme = readme_commands()
    assert [c[:2] for c in readme] == [
        ["python3", "-m"],
        [".", "<path>"],
        ["pip", "install"],
        ["jetkube", "up"],
        ["jetkube", "images"],
        ["jetkube", "apply"],
        ["jetkube", "get"],
        ["jetkube", "logs"],
    ]
    script = script_commands()
    at = 0
    for cmd in readme:
        while at < len(script) and script[at][: len(cmd)] != cmd:
            at += 1
        assert at < len(script), f"the README's {' '.join(cmd)} is not in scripts/quickstart-check (in order)"
        at += 1
