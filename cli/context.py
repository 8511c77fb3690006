"""What every client command shares: the global options, the connection and the error exit.

Each command takes ``--server``/``-s`` (or ``JETKUBE_SERVER``) and, where it makes sense,
``-n/--namespace``; both may also come before the command (``jetkube -n kube-system get pods``).
A command's work is a coroutine taking the :class:`ApiClient`; :func:`run` connects, runs it in
``asyncio.run`` and turns every :class:`~schemas.errors.JetkubeError` into one line on stderr and
exit code 1, as kubectl does. Tests swap :data:`connector` for an in-memory api.

Credentials come from the client config (cli/config.py): ``--context`` (or ``JETKUBE_CONTEXT``)
picks a context, else the server's own context, else the current one. ``Settings.server`` stays
the plain URL (safe to print); ``Settings.url`` carries the credentials to the connection.
``--as USER`` (root option) impersonates, which only admins may do.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any, NoReturn

import typer

from schemas.errors import JetkubeError, ServiceUnavailable

DEFAULT_SERVER = "nats://127.0.0.1:4222"
DEFAULT_NAMESPACE = "default"

ServerOpt = Annotated[
    str | None,
    typer.Option(
        "--server",
        "-s",
        envvar="JETKUBE_SERVER",
        help="NATS URL of the cluster [default: nats://127.0.0.1:4222]",
    ),
]
NamespaceOpt = Annotated[str | None, typer.Option("--namespace", "-n", help="The namespace of the request")]
AllNamespacesOpt = Annotated[
    bool, typer.Option("--all-namespaces", "-A", help="Across every namespace (NAMESPACE column added)")
]
FilenameOpt = Annotated[
    list[str] | None, typer.Option("--filename", "-f", help="File, directory or - (stdin); repeatable")
]
RecursiveOpt = Annotated[bool, typer.Option("--recursive", "-R", help="Read directories recursively")]
SelectorOpt = Annotated[str | None, typer.Option("--selector", "-l", help="Label selector, e.g. app=nginx")]
OutputOpt = Annotated[
    str | None, typer.Option("--output", "-o", help="yaml|json|wide|name|jsonpath=...|go-template=...")
]


ContextOpt = Annotated[
    str | None,
    typer.Option("--context", envvar="JETKUBE_CONTEXT", help="The context of the config file to use"),
]
AsOpt = Annotated[str | None, typer.Option("--as", help="Act as this user (impersonation; admins only)")]


@dataclass(frozen=True)
class Settings:
    server: str = DEFAULT_SERVER
    namespace_flag: str | None = None  # -n as given; None when not given
    context: str | None = None
    as_user: str | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    server_given: bool = False
    ca: str | None = None  # the context's certificate-authority (tls:// servers)

    @property
    def url(self) -> str:
        """The server URL with the credentials the connection logs in with."""
        from cli.config import Target

        return Target(self.server, self.user, self.password, ca=self.ca).url

    @property
    def namespace(self) -> str:
        return self.namespace_flag or DEFAULT_NAMESPACE


def settings(ctx: typer.Context | None, server: str | None = None, namespace: str | None = None) -> Settings:
    """The command's own flags, else those given before the command, else the defaults."""
    from cli.config import resolve

    root: Settings = (
        ctx.find_root().obj if ctx is not None and isinstance(ctx.find_root().obj, Settings) else Settings()
    )
    explicit = server or (root.server if root.server_given else None) or os.environ.get("JETKUBE_SERVER")
    try:
        target = resolve(explicit, root.context)
    except JetkubeError as err:
        fail(err)
    return Settings(
        server=target.server,
        namespace_flag=namespace or root.namespace_flag,
        context=target.context,
        as_user=root.as_user,
        user=target.user,
        password=target.password,
        server_given=bool(explicit),
        ca=target.ca,
    )


def quiet_logs() -> None:
    """Client commands print only their own output: library logs go to stderr, errors only."""
    import logging
    import sys

    import structlog

    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )


@asynccontextmanager
async def connect(server: str) -> AsyncIterator[Any]:
    """An :class:`ApiClient` on a fresh bus connection to ``server``."""
    quiet_logs()
    from bus.client import ApiClient
    from bus.connection import Bus

    bus = await Bus.connect(server)
    try:
        yield ApiClient(bus)
    finally:
        for name in ("close", "drain"):
            closer = getattr(bus, name, None)
            if closer is not None:
                try:
                    await closer()
                except Exception:  # closing must not hide the command's own result
                    pass
                break


Connector = Callable[[str], AbstractAsyncContextManager[Any]]
connector: Connector = connect

Work = Callable[[Any], Awaitable[int | None]]


def fail(err: JetkubeError) -> NoReturn:
    echo_error(err)
    raise typer.Exit(1)


def echo_error(err: JetkubeError) -> None:
    typer.echo(err.cli_line(), err=True)


def run(opts: Settings, work: Work) -> None:
    """Connect to ``opts.server``, run ``work(api)``, exit with its code (errors: one line, 1)."""

    async def main() -> int | None:
        async with connector(opts.url) as api:
            if opts.as_user and hasattr(api, "impersonate"):
                api.impersonate = opts.as_user
            return await work(api)

    try:
        code = asyncio.run(main())
    except JetkubeError as err:
        fail(err)
    except KeyboardInterrupt:
        code = 0
    except (OSError, TimeoutError) as exc:
        fail(
            ServiceUnavailable(f"cannot reach NATS at {opts.server}: {exc}. Is the cluster up (jetkube up)?")
        )
    if code:
        raise typer.Exit(code)


def local(work: Callable[[], None]) -> None:
    """Run a command that needs no server, with the same error exit."""
    try:
        work()
    except JetkubeError as err:
        fail(err)
