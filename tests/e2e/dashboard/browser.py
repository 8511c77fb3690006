"""A headless Chromium driven over the Chrome DevTools Protocol, with nothing but aiohttp.

    async with Browser.launch(tmp_path) as page:
        await page.goto("http://127.0.0.1:8001/#pods")
        await page.wait_for("document.querySelectorAll('[data-testid=pod-row]').length == 2")
        await page.click('[data-testid="scale-button"]')     # a real mouse click at the element
        png = await page.screenshot()

Chromium (Debian's ``chromium`` package) starts with ``--remote-debugging-port=0``: it picks a port
and writes it to ``DevToolsActivePort`` in its profile dir; the page target's WebSocket comes from
``/json/list``. Commands are JSON messages with ids; replies carry the same id, events (no id) are
dropped. No driver binary (chromedriver) and no download, so it runs offline.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

WIDTH, HEIGHT = 1280, 860


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def spawn(exe: str, profile: Path, log_path: Path) -> subprocess.Popen[bytes]:
    """Start chromium in its own process group (so that closing it ends its helpers too)."""
    profile.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            [
                exe,
                "--headless=new",
                "--no-sandbox",  # tests run as root in a container
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--disable-background-networking",
                "--hide-scrollbars",
                "--remote-debugging-port=0",
                "--remote-allow-origins=*",
                f"--user-data-dir={profile}",
                f"--window-size={WIDTH},{HEIGHT}",
                "about:blank",
            ],
            stdout=log,
            stderr=log,
            start_new_session=True,
        )


class CdpError(RuntimeError):
    pass


class Page:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self._ids = itertools.count(1)

    async def send(self, method: str, params: dict[str, Any] | None = None, timeout: float = 15.0) -> Any:
        msg_id = next(self._ids)
        await self.ws.send_str(json.dumps({"id": msg_id, "method": method, "params": params or {}}))
        async with asyncio.timeout(timeout):
            while True:
                msg = await self.ws.receive()
                if msg.type != aiohttp.WSMsgType.TEXT:
                    raise CdpError(f"DevTools connection closed during {method}: {msg.type}")
                data = json.loads(msg.data)
                if data.get("id") == msg_id:
                    if "error" in data:
                        raise CdpError(f"{method}: {data['error']}")
                    return data.get("result") or {}

    async def evaluate(self, expression: str) -> Any:
        result = await self.send(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True}
        )
        if "exceptionDetails" in result:
            raise CdpError(f"{expression!r}: {result['exceptionDetails']}")
        return (result.get("result") or {}).get("value")

    async def goto(self, url: str, timeout: float = 15.0) -> None:
        await self.send("Page.navigate", {"url": url})
        await self.wait_for("document.readyState === 'complete'", timeout, what=f"{url} to load")

    async def wait_for(self, expression: str, timeout: float = 15.0, what: str = "") -> Any:
        """Evaluate ``expression`` until it is truthy (a deadline, never a fixed sleep)."""
        deadline = time.monotonic() + timeout
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                shown = await self.evaluate("document.body.innerText")
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {what or expression}; the page shows:\n{shown}"
                )
            await asyncio.sleep(0.1)

    async def click(self, selector: str) -> None:
        """A mouse press and release at the middle of the element, as a user clicks."""
        box = await self.evaluate(
            f"(() => {{ const el = document.querySelector({json.dumps(selector)});"
            " if (!el) return null; el.scrollIntoView({block: 'center'});"
            " const r = el.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        if not box:
            raise AssertionError(f"no element matches {selector}")
        x, y = box
        for kind in ("mousePressed", "mouseReleased"):
            await self.send(
                "Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}
            )

    async def type_into(self, selector: str, text: str) -> None:
        """Focus an input, select what it holds and type ``text`` over it."""
        await self.click(selector)
        await self.evaluate(f"document.querySelector({json.dumps(selector)}).select()")
        await self.send("Input.insertText", {"text": text})

    async def screenshot(self) -> bytes:
        result = await self.send("Page.captureScreenshot", {"format": "png"})
        return base64.b64decode(result["data"])


class Browser:
    def __init__(self, process: subprocess.Popen[bytes], profile: Path) -> None:
        self.process = process
        self.profile = profile

    @classmethod
    @contextlib.asynccontextmanager
    async def launch(cls, workdir: Path, timeout: float = 30.0) -> AsyncIterator[Page]:
        exe = chromium_path()
        if exe is None:
            raise RuntimeError("no chromium on PATH (apt-get install chromium)")
        profile = workdir / "chromium-profile"
        process = spawn(exe, profile, workdir / "chromium.log")
        browser = cls(process, profile)
        try:
            async with aiohttp.ClientSession() as http:
                ws_url = await browser._page_socket(http, timeout)
                async with http.ws_connect(ws_url, max_msg_size=0) as ws:
                    page = Page(ws)
                    await page.send("Page.enable")
                    await page.send(
                        "Emulation.setDeviceMetricsOverride",
                        {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False},
                    )
                    yield page
        finally:
            browser.close()

    async def _page_socket(self, http: aiohttp.ClientSession, timeout: float) -> str:
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.process.returncode}; see chromium.log")
            if port_file.exists():
                lines = port_file.read_text().split()
                if lines:
                    with contextlib.suppress(aiohttp.ClientError):
                        async with http.get(f"http://127.0.0.1:{lines[0]}/json/list") as resp:
                            targets = await resp.json(content_type=None)
                        pages = [t for t in targets if t.get("type") == "page"]
                        if pages:
                            return str(pages[0]["webSocketDebuggerUrl"])
            if time.monotonic() > deadline:
                raise RuntimeError(f"chromium's DevTools did not answer within {timeout}s")
            await asyncio.sleep(0.1)

    def close(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
