"""``jetkube images build``: the recipe table, the pause recipe shared with the kubelet, progress."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from actors.kubelet import pause_elf
from actors.kubelet.image_catalog import BUILDABLE
from cli.images import build as b
from cli.images import host
from cli.images.command import StepPrinter


def test_the_package_builds_every_image_the_catalog_names_with_its_tags() -> None:
    assert {n: tuple(b.IMAGES[n].tags) for n in BUILDABLE} == BUILDABLE
    for img in b.IMAGES.values():
        assert set(img.deps) <= set(b.IMAGES)


def test_recipe_sources_are_package_data() -> None:
    assert {p.name for p in b.SRC.glob("*.c")} >= {"liveness.c", "proxy-to-service.c", "pause.c"}


@pytest.mark.skipif(not pause_elf.supported(), reason="the generated pause is x86-64")
def test_pause_recipe_hash_is_the_kubelets() -> None:
    """The builder and the kubelet label the pause image alike, so neither rebuilds the other's."""
    inputs, _ = b.IMAGES["pause"].plan()  # type: ignore[misc]
    assert b.sha([b.RECIPE_VERSION.encode(), *inputs]) == pause_elf.recipe_hash()


def test_unknown_image_is_refused_naming_what_can_be_built() -> None:
    from cli.main import app

    result = CliRunner().invoke(app, ["images", "build", "busybox", "nosuch"])
    assert result.exit_code == 2
    assert "unknown image 'nosuch'" in result.output and "busybox, pause" in result.output


def test_step_printer_prints_one_line_per_phase_off_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    show = StepPrinter(tty=False)
    for line in [
        "I: Retrieving InRelease",
        "I: Retrieving Packages",
        "I: Validating Packages",
        "I: Retrieving libc6 2.36",
        "I: Unpacking perl-base",
        "I: Unpacking nginx",
        "I: Configuring perl",
    ]:
        show("debian", line)
    phases = [ln.split()[2] for ln in capsys.readouterr().out.splitlines()]
    assert phases == ["Retrieving", "Validating", "Retrieving", "Unpacking", "Configuring"]


def test_cache_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("JETKUBE_IMAGES_CACHE", str(tmp_path / "c"))
    assert host.default_cache() == tmp_path / "c"
    monkeypatch.delenv("JETKUBE_IMAGES_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert host.default_cache() == tmp_path / "x" / "jetkube" / "images"


def test_long_steps_report_each_line_and_fail_with_the_tail(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, str]] = []
    monkeypatch.setattr(host, "_step", lambda name, line: seen.append((name, line)))
    lines = "echo 'I: Retrieving perl'; echo; echo 'I: Unpacking perl'"
    host.run_with_progress("debian", ["sh", "-c", lines])
    assert seen == [("debian", "I: Retrieving perl"), ("debian", "I: Unpacking perl")]
    with pytest.raises(RuntimeError, match=r"failed \(3\).*E: no mirror"):
        host.run_with_progress("debian", ["sh", "-c", "echo 'E: no mirror'; exit 3"])
