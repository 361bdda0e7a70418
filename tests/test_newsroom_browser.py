"""The newsroom page in a real headless browser (Debian's chromium), driven over the DevTools
protocol (``--remote-debugging-pipe``: no websocket library needed), against a real `wirecopy serve`
process on loopback: the seeds are posted one by one while the page is open."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from conftest import EXAMPLE
from test_service_process import server

pytestmark = pytest.mark.slow

SEED_STORY = "sd183249d781fc38a"
TOKEN = "newsroom-test-token"


class Browser:
    """A headless chromium with one page, spoken to over the DevTools protocol on fds 3/4."""

    def __init__(self, chromium: str, profile: Path):
        self._to_r, self._to_w = os.pipe()
        self._from_r, self._from_w = os.pipe()
        to_r, from_w = self._to_r, self._from_w

        def fds() -> None:  # the protocol pipe: chromium reads fd 3 and writes fd 4
            os.dup2(to_r, 3)
            os.dup2(from_w, 4)

        self.proc = subprocess.Popen(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--remote-debugging-pipe", "--window-size=1400,1000", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, pass_fds=(3, 4), preexec_fn=fds,
        )
        os.close(to_r)
        os.close(from_w)
        self._buf = b""
        self._id = 0
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.call("Page.enable", session=True)
        self.call("Emulation.setDeviceMetricsOverride", session=True, width=1400, height=1000, deviceScaleFactor=1, mobile=False)

    def call(self, method: str, session: bool = False, **params):
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params}
        if session:
            msg["sessionId"] = self.session
        os.write(self._to_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            while b"\0" not in self._buf:
                chunk = os.read(self._from_r, 1 << 16)
                if not chunk:
                    raise RuntimeError("chromium closed the DevTools pipe")
                self._buf += chunk
            raw, self._buf = self._buf.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
        raise TimeoutError(method)

    def js(self, expression: str):
        r = self.call("Runtime.evaluate", session=True, expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expression}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def wait(self, expression: str, timeout: float = 30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                value = self.js(expression)
            except RuntimeError:  # the page is still loading
                value = None
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {expression!r}; page: {self.js('document.body.innerText')[:2000]}")

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except (RuntimeError, OSError, TimeoutError):
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_w)
        os.close(self._from_r)


def _size(browser: Browser, story: str) -> int:
    return browser.js(f'(function(){{var r=document.querySelector(\'#stories tr[data-story="{story}"]\');return r?+r.dataset.size:0}})()')


def test_story_forms_live_in_the_browser(chromium, tmp_path):
    """With the page open (behind a token), the seeds posted one by one make one story grow to five
    members in the list without a reload; its view shows the five versions in order."""
    seeds = [json.loads(line) for line in EXAMPLE.read_text(encoding="utf-8").splitlines()][:5]
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with server(tmp_path / "news.db", tmp_path / "serve.log", "--token", TOKEN) as (proc, url):
        browser = Browser(chromium, tmp_path / "profile")
        try:
            browser.call("Page.navigate", session=True, url=url + "/")
            browser.wait("!document.getElementById('login').classList.contains('hidden')")  # asks for the token
            browser.js(f"document.getElementById('token').value = {json.dumps(TOKEN)}; "
                       "document.getElementById('login-form').requestSubmit(); true")
            browser.wait("document.body.dataset.ready === '1' && document.getElementById('live').className === 'on'")
            browser.js("window.__sameDocument = 1; true")  # gone if the page reloads
            sizes = []
            for i, doc in enumerate(seeds, 1):
                r = httpx.post(url + "/articles", json=doc, headers=headers, timeout=60)
                assert r.status_code == 200, r.text
                expected = 3 if i == 3 else (1 if i <= 2 else i)  # seed 2 bridges seeds 0 and 1: a merge
                browser.wait(f"+document.body.dataset.lastEvent >= {[1, 2, 4, 5, 6][i - 1]}")  # seed 2's merge is an event too
                browser.wait(f"document.querySelectorAll('#stories tbody tr').length === {2 if i == 2 else 1}")
                browser.wait(f"(function(){{var r=document.querySelector('#stories tr[data-story=\"{SEED_STORY}\"]');"
                             f"return r && +r.dataset.size === {expected}}})()")
                sizes.append(_size(browser, SEED_STORY))
            assert sizes == [1, 1, 3, 4, 5]
            assert browser.js("window.__sameDocument") == 1  # no reload happened
            assert browser.js("document.querySelectorAll('#ticker li').length") == 6  # every event, none missed
            assert browser.js("document.querySelectorAll('#stories tbody tr').length") == 1  # one story, the merge absorbed the other
            # the story view: the five versions, in the order of the index's anatomy (the report's order)
            want = [m["id"] for m in httpx.get(f"{url}/stories/{SEED_STORY}/anatomy", headers=headers, timeout=60).json()["members"]]
            browser.js(f"document.querySelector('#stories tr[data-story=\"{SEED_STORY}\"] a').click(); true")
            browser.wait("document.getElementById('story-view').dataset.size === '5'")
            shown = browser.js("Array.from(document.querySelectorAll('.timeline > li')).map(function (li) { return li.dataset.member; })")
            numbers = browser.js("Array.from(document.querySelectorAll('.timeline > li strong')).map(function (s) { return parseInt(s.textContent, 10); })")
            assert shown == want and numbers == [1, 2, 3, 4, 5]
            assert want.index("seed-002_02fbcd23d43b115c") < want.index("seed-000_3fd6863b09822b2e") < want.index("seed-004_80e8be52ee3f98d2")
            assert browser.js("document.querySelectorAll('#col-b mark.shared').length") > 0
            browser.js("location.hash = ''; true")
            browser.wait("document.querySelectorAll('#stories tbody tr').length === 1")
            shot = tmp_path / "newsroom.png"
            shot.write_bytes(base64.b64decode(browser.call("Page.captureScreenshot", session=True, format="png")["data"]))
            assert shot.stat().st_size > 10_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            browser.js(f"location.hash = '#story={SEED_STORY}'; true")
            browser.wait("document.getElementById('story-view').dataset.size === '5'")
            story_shot = tmp_path / "newsroom-story.png"
            story_shot.write_bytes(base64.b64decode(browser.call("Page.captureScreenshot", session=True, format="png")["data"]))
        finally:
            browser.close()
