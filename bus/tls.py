"""TLS on the NATS connections, where a certificate is given.

Server side: ``jetkube up --tls-cert FILE --tls-key FILE`` (and the test bed's or anyone's
nats-server config) adds :func:`server_tls_block` to the embedded server's config; the server then
refuses plain connections, and its URL is ``tls://host:port``.

Client side: a ``tls://`` URL makes :meth:`bus.connection.Bus.connect` verify the server's
certificate against a CA file: the URL's ``?ca=PATH`` (what a context's ``certificate-authority``
becomes, see cli/config.py), else ``$JETKUBE_TLS_CA``, else the system's trust store. A self-signed
server certificate is its own CA. Host names are checked, as kubectl checks the api-server's.
"""

from __future__ import annotations

import os
import ssl
import urllib.parse
from pathlib import Path

from schemas.errors import BadRequest

CA_ENV = "JETKUBE_TLS_CA"


def server_tls_block(cert: Path, key: Path, ca: Path | None = None) -> str:
    """The nats-server ``tls {}`` block (``ca`` also asks clients for certificates signed by it)."""
    for flag, path in (("--tls-cert", cert), ("--tls-key", key), ("--tls-ca", ca)):
        if path is not None and not path.is_file():
            raise BadRequest(f"{flag}: {path}: no such file")
    lines = [f'  cert_file: "{cert.resolve()}"', f'  key_file: "{key.resolve()}"', "  timeout: 5"]
    if ca is not None:
        lines += [f'  ca_file: "{ca.resolve()}"', "  verify: true"]
    return "tls {\n" + "\n".join(lines) + "\n}\n"


def split_ca(url: str) -> tuple[str, str | None]:
    """``tls://h:p,tls://h2:p?ca=/x.pem`` -> (``tls://h:p,tls://h2:p``, ``/x.pem``)."""
    base, sep, query = url.partition("?")
    if not sep:
        return url, None
    params = urllib.parse.parse_qs(query)
    unknown = sorted(set(params) - {"ca"})
    if unknown:
        raise BadRequest(f"server URL: unknown parameter {unknown[0]!r} (only ca=PATH is understood)")
    return base, params["ca"][-1] if params.get("ca") else None


def with_ca(url: str, ca: str | None) -> str:
    """The URL with ``?ca=`` for a ``tls://`` server and a CA file; unchanged otherwise."""
    if not ca or not url.startswith("tls://"):
        return url
    return f"{url}?ca={urllib.parse.quote(ca, safe='/')}"


def client_context(url: str, ca: str | None) -> ssl.SSLContext | None:
    """The SSL context for ``url`` (None for plain ``nats://`` servers)."""
    if not any(part.strip().startswith("tls://") for part in url.split(",")):
        return None
    ca = ca or os.environ.get(CA_ENV) or None
    if ca and not Path(ca).is_file():
        raise BadRequest(f"certificate-authority {ca}: no such file")
    ctx = ssl.create_default_context(cafile=ca)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx
