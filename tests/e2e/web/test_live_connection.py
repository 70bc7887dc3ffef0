"""A dropped connection never looks like "all clear": the live page greys out, says since when,
and reconnects by itself (the network between browser and server cut by a real TCP proxy)."""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from typing import Any

import pytest
from browserhelpers import log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


class CuttableProxy:
    """A TCP proxy on a free loopback port that can drop every connection, like a lost network."""

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = int(self.sock.getsockname()[1])
        self.refuse = False
        self.closed = False
        self.conns: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            if self.refuse:
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.refuse = True
        with self.lock:
            conns, self.conns = self.conns, []
        for c in conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
            c.close()

    def restore(self) -> None:
        self.refuse = False

    def close(self) -> None:
        self.closed = True
        self.cut()
        self.sock.close()


@pytest.fixture
def proxied(server: str) -> Any:
    proxy = CuttableProxy(int(server.rsplit(":", 1)[1]))
    yield proxy, f"http://127.0.0.1:{proxy.port}"
    proxy.close()


def test_a_lost_connection_greys_the_live_view_and_it_reconnects_by_itself(proxied, page):
    proxy, base = proxied
    log_in(page, base, "therapist")
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/clients/new")
    page.fill("input[name=name]", "Network Client")
    page.click("text=Create and fill the intake")
    page.wait_for_url(re.compile(r".*/clients/\d+/intake$"))
    page.fill("input[name='client.height_cm']", "170")
    page.fill("input[name='client.weight_kg']", "70")
    page.click("text=Save and screen")
    page.wait_for_url(re.compile(r".*/screenings/\d+$"))
    page.click("#take-consent")  # the client signs before a session can start
    page.check("input[name=agreed]")
    page.fill("input[name=typed_name]", "Network Client")
    page.click("#sign-consent")
    page.wait_for_url(re.compile(r".*/clients/\d+$"))
    page.click("text=Start a session")
    page.select_option("select[name=practitioner_id]", label="Tess Therapist")
    page.select_option("select[name=source]", "sim:mixed")
    page.click("text=Check readiness and start")
    page.wait_for_url(re.compile(r".*/sessions/\d+$"))
    page.wait_for_function("window.ashiguardLive && window.ashiguardLive.frames > 3")
    assert "lost" not in page.get_attribute("#banner", "class")

    proxy.cut()
    page.wait_for_selector(".banner.lost", timeout=5_000)
    text = page.inner_text("#banner-text")
    assert text.startswith("Connection lost at") and "Do not rely on this screen" in text
    assert "stale" in page.get_attribute("#live", "class")
    assert "All clear" not in text

    proxy.restore()
    page.wait_for_function("window.ashiguardLive.reconnects > 0", timeout=20_000)
    frames = page.evaluate("window.ashiguardLive.frames")
    page.wait_for_function(f"window.ashiguardLive.frames > {frames} + 3")
    assert "lost" not in page.get_attribute("#banner", "class")
    assert "stale" not in (page.get_attribute("#live", "class") or "")
    assert "reconnected" in page.inner_text("#log")
    page.on("dialog", lambda dialog: dialog.accept())  # "End this session now?"
    page.click("#stop")
    page.wait_for_selector("text=Session review", timeout=60_000)
