"""The ``jetkube`` command line: a typer app with kubectl's client commands.

Commands live in their own modules, each with ``register(app: typer.Typer) -> None`` that adds its
commands to the app. :data:`COMMAND_MODULES` lists them; a listed module that does not exist yet is
skipped, so later commands (logs, exec, rollout, set image, drain, top, port-forward, config) attach
by writing ``cli/commands/<name>.py`` with a ``register`` function, and the process-starting
commands (``cli/up.py``, ``cli/controlplane.py``, ``cli/kubelet.py``) the same way.
:func:`register_command` adds one plain function from anywhere else.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import typer

from cli.context import AsOpt, ContextOpt, NamespaceOpt, ServerOpt, Settings

app = typer.Typer(
    name="jetkube",
    help="jetkube controls a jetkube cluster, as kubectl controls Kubernetes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

COMMAND_MODULES: tuple[str, ...] = (
    # the process-starting commands (written by the lead)
    "cli.up",
    "cli.down",  # jetkube down: a local cluster and its containers taken away
    "cli.controlplane",
    "cli.kubelet",
    "cli.testbed",
    "cli.hollow",
    "cli.proxy",  # jetkube proxy, jetkube dns (networking)
    # basic commands
    "cli.commands.create",
    "cli.commands.get",
    "cli.commands.explain",
    "cli.commands.delete",
    # app management and troubleshooting
    "cli.commands.apply",
    "cli.commands.patch",
    "cli.commands.replace",
    "cli.commands.scale",
    "cli.commands.autoscale",  # i21
    "cli.commands.run",  # i21: run, expose
    "cli.commands.wait",  # i21
    "cli.commands.edit",  # i21
    "cli.commands.rolling_update",  # i21
    "cli.commands.cp",  # i21
    "cli.commands.attach",  # i21
    "cli.commands.rollout",
    "cli.commands.set",
    "cli.commands.describe",
    "cli.commands.logs",
    "cli.commands.exec",
    "cli.commands.port_forward",
    "cli.commands.top",
    "cli.commands.dashboard",
    # cluster management
    "cli.commands.cordon",
    "cli.commands.drain",
    # settings
    "cli.commands.label",
    # other
    "cli.commands.api_resources",
    "cli.commands.config",
    "cli.commands.auth",
    "cli.commands.secrets",
    "cli.commands.version",
    "cli.commands.api_versions",
    "cli.commands.convert",
    "cli.commands.migrate",
    "cli.commands.cluster_info",
    "cli.images.command",  # jetkube images build
)


@app.callback()
def root(
    ctx: typer.Context,
    server: ServerOpt = None,
    namespace: NamespaceOpt = None,
    context: ContextOpt = None,
    as_user: AsOpt = None,
) -> None:
    """Global flags, also accepted after the command name (--context and --as: before it)."""
    ctx.obj = Settings(
        server=server or Settings().server,
        namespace_flag=namespace,
        context=context,
        as_user=as_user,
        server_given=server is not None,
    )


def register_command(fn: Callable[..., Any], name: str | None = None, **kwargs: Any) -> None:
    """Add one command function to the app (``register_command(up, "up")``)."""
    app.command(name, **kwargs)(fn)


def register_all(target: typer.Typer = app, modules: tuple[str, ...] = COMMAND_MODULES) -> None:
    for module_name in modules:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue  # not written yet
            raise
        register = getattr(module, "register", None)
        if register is not None:
            register(target)


register_all()


def kubectl_argv(argv: list[str]) -> list[str]:
    """kubectl spells boolean flags ``--wait=false``; click wants ``--no-wait``."""
    out = []
    for arg in argv:
        name, sep, value = arg.partition("=")
        if sep and name in BOOL_FLAGS and value.lower() in ("true", "false"):
            out.append(name if value.lower() == "true" else "--no-" + name[2:])
        else:
            out.append(arg)
    return out


BOOL_FLAGS = ("--wait",)


def main() -> None:
    import sys

    app(args=kubectl_argv(sys.argv[1:]))


if __name__ == "__main__":
    main()
