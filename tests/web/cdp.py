"""A minimal Chrome DevTools Protocol client for the browser tests: headless Chromium with
``--remote-debugging-port=0``, one page target, JSON messages over a WebSocket (RFC 6455, client
frames masked) on a plain socket, so no extra dependency is needed.

It drives the page as a person would: focus a field, type into it (``Input.insertText``), click
a button (mouse events at its box), wait for the page load, take a screenshot.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


class WebSocket:
    """Text frames over one TCP connection (enough for DevTools)."""

    def __init__(self, url: str, timeout: float = 60.0) -> None:
        rest = url.removeprefix("ws://")
        hostport, _, path = rest.partition("/")
        host, _, port = hostport.partition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            assert chunk, "DevTools closed the connection during the handshake"
            head += chunk
        assert head.split(b"\r\n", 1)[0].split(b" ")[1] == b"101", head[:200]
        self.buffer = head.split(b"\r\n\r\n", 1)[1]

    def _read(self, n: int) -> bytes:
        while len(self.buffer) < n:
            chunk = self.sock.recv(1 << 20)
            assert chunk, "DevTools closed the connection"
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def send(self, text: str) -> None:
        payload = text.encode()
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            header = struct.pack("!BB", 0x81, 0x80 | n)
        elif n < 1 << 16:
            header = struct.pack("!BBH", 0x81, 0x80 | 126, n)
        else:
            header = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def recv(self) -> str:
        parts: list[bytes] = []
        while True:
            first, second = self._read(2)
            n = second & 0x7F
            if n == 126:
                (n,) = struct.unpack("!H", self._read(2))
            elif n == 127:
                (n,) = struct.unpack("!Q", self._read(8))
            mask = self._read(4) if second & 0x80 else b""
            data = self._read(n)
            if mask:
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
            opcode = first & 0x0F
            if opcode in (0x1, 0x0):
                parts.append(data)
                if first & 0x80:
                    return b"".join(parts).decode()
            elif opcode == 0x8:
                raise ConnectionError("DevTools closed the WebSocket")

    def close(self) -> None:
        self.sock.close()


class Page:
    """One page target: ``call`` a method, ``wait`` for an event."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                assert "error" not in message, (method, message["error"])
                result: dict[str, Any] = message.get("result", {})
                return result
            self.events.append(message)

    def wait(self, event: str, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for i, message in enumerate(self.events):
                if message.get("method") == event:
                    del self.events[: i + 1]
                    return message
            self.events.append(json.loads(self.ws.recv()))
        raise TimeoutError(event)

    def goto(self, url: str) -> None:
        self.events.clear()
        self.call("Page.navigate", url=url)
        self.wait("Page.loadEventFired")

    def node(self, selector: str) -> int:
        root = self.call("DOM.getDocument")["root"]["nodeId"]
        node_id: int = self.call("DOM.querySelector", nodeId=root, selector=selector)["nodeId"]
        assert node_id, f"no element matches {selector!r}"
        return node_id

    def box(self, selector: str) -> tuple[float, float, float, float]:
        """``(x, y, width, height)`` of an element in the viewport, scrolled into view."""
        node = self.node(selector)
        self.call("DOM.scrollIntoViewIfNeeded", nodeId=node)
        quad = self.call("DOM.getBoxModel", nodeId=node)["model"]["border"]
        xs, ys = quad[0::2], quad[1::2]
        return min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)

    def type_into(self, selector: str, text: str) -> None:
        """Focus a field, select its text and type ``text`` over it (as keystrokes would)."""
        x, y, w, h = self.box(selector)
        self.click_at(x + w / 2, y + h / 2)
        modifiers = 2  # Ctrl
        for kind in ("keyDown", "keyUp"):
            self.call(
                "Input.dispatchKeyEvent",
                type=kind,
                modifiers=modifiers,
                key="a",
                code="KeyA",
                windowsVirtualKeyCode=65,
                commands=["selectAll"] if kind == "keyDown" else [],
            )
        self.call("Input.insertText", text=text)

    def click_at(self, x: float, y: float) -> None:
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def click(self, selector: str) -> None:
        x, y, w, h = self.box(selector)
        self.click_at(x + w / 2, y + h / 2)

    def text(self, selector: str) -> str:
        html: str = self.call("DOM.getOuterHTML", nodeId=self.node(selector))["outerHTML"]
        return html

    def screenshot(self, selector: str | None = None) -> bytes:
        params: dict[str, Any] = {"format": "png"}
        if selector is not None:
            x, y, w, h = self.box(selector)
            # the box is in viewport coordinates, the clip in the document's
            viewport = self.call("Page.getLayoutMetrics")["cssVisualViewport"]
            x, y = x + viewport["pageX"], y + viewport["pageY"]
            params["clip"] = {"x": x, "y": y, "width": w, "height": h, "scale": 1}
        return base64.b64decode(self.call("Page.captureScreenshot", **params)["data"])


@contextmanager
def chromium_page(
    binary: str, profile: Path, width: int = 1000, height: int = 1200
) -> Iterator[Page]:
    """A headless Chromium (stopped by its pid at the end) and its first page."""
    proc = subprocess.Popen(
        [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--remote-debugging-port=0",
            "--remote-allow-origins=*",
            f"--window-size={width},{height}",
            f"--user-data-dir={profile}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    ws: WebSocket | None = None
    try:
        active = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (active.is_file() and active.read_text().count("\n") >= 1):
            assert proc.poll() is None, "chromium exited"
            assert time.monotonic() < deadline, "chromium did not open its DevTools port"
            time.sleep(0.1)
        port = int(active.read_text().split("\n")[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30) as r:
            targets = json.load(r)
        page = next(t for t in targets if t["type"] == "page")
        ws = WebSocket(page["webSocketDebuggerUrl"])
        tab = Page(ws)
        tab.call("Page.enable")
        tab.call("DOM.enable")
        yield tab
    finally:
        if ws is not None:
            ws.close()
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
