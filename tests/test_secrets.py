"""No credential from a kubeconfig reaches a log line, the screen or stderr (issue 13,
finding 7): against a server that echoes the Authorization header, the URL and a
refresh token in its error bodies; with a password in the server URL's userinfo; with an
exec plugin that prints `refresh_token <value>` on stderr."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from aiohttp import web

from kataview.kube.credentials import register_credentials, split_userinfo
from kataview.model.redaction import REDACTED, redact, register_secret

KATAVIEW = [sys.executable, "-m", "kataview"]
TOKEN = "kv-token-9Qf3x7Lm2Pz8Rt4Wy6"
PASSWORD = "pa55-Word-in-url-8812"
REFRESH = "1//0gRefreshTok3nValue-77"


class EchoServer:
    """Answers every request with a 500 whose Status message repeats the request's
    Authorization header, its URL and a refresh token: the worst a proxy can do."""

    def __init__(self) -> None:
        self.port = 0
        self.seen: list[str] = []
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None

    async def _answer(self, request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        self.seen.append(auth)
        message = f"denied {auth} for {request.url} (refresh_token {REFRESH}, \"token\": \"{TOKEN}\")"
        body = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message,
                "reason": "InternalError", "code": 500}
        return web.Response(status=500, text=json.dumps(body), content_type="application/json",
                            headers={"X-Echo": auth})

    def __enter__(self) -> EchoServer:
        ready = threading.Event()

        async def start() -> None:
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", self._answer)
            self._runner = web.AppRunner(app)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            self.port = site._server.sockets[0].getsockname()[1]

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(start())
            ready.set()
            self._loop.run_forever()

        threading.Thread(target=run, daemon=True).start()
        assert ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)


def kubeconfig(path: Path, server: str, user: dict) -> Path:
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "echo",
        "clusters": [{"name": "echo", "cluster": {"server": server}}],
        "contexts": [{"name": "echo", "context": {"cluster": "echo", "user": "u"}}],
        "users": [{"name": "u", "user": user}]}))
    path.chmod(0o600)
    return path


def run_report(home: Path, config: Path) -> subprocess.CompletedProcess:
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "XDG_STATE_HOME": str(home / "state"),
           "XDG_CONFIG_HOME": str(home / "config")}
    return subprocess.run([*KATAVIEW, "report", "--kubeconfig", str(config), "--request-timeout", "5"],
                          capture_output=True, text=True, timeout=60, env=env)


def everything_written(home: Path, done: subprocess.CompletedProcess) -> str:
    log = home / "state" / "kataview" / "kataview.log"
    return done.stdout + done.stderr + (log.read_text() if log.exists() else "")


def test_an_echoed_token_is_in_no_log_line_and_not_on_stderr(tmp_path):
    with EchoServer() as server:
        config = kubeconfig(tmp_path / "kc", f"http://127.0.0.1:{server.port}", {"token": TOKEN})
        done = run_report(tmp_path, config)
    assert server.seen and server.seen[0] == f"Bearer {TOKEN}"  # it was sent, and echoed
    written = everything_written(tmp_path, done)
    assert done.returncode != 0 and "denied" in done.stderr and "Traceback" not in done.stderr
    assert TOKEN not in written and REFRESH not in written and TOKEN[3:15] not in written


def test_url_userinfo_with_a_token_is_no_traceback_and_no_password(tmp_path):
    with EchoServer() as server:
        url = f"http://alice:{PASSWORD}@127.0.0.1:{server.port}"
        for user, sent in (({"token": TOKEN}, f"Bearer {TOKEN}"), ({}, "Basic ")):
            config = kubeconfig(tmp_path / "kc", url, user)
            done = run_report(tmp_path, config)
            assert "Traceback" not in done.stderr and "denied" in done.stderr, done.stderr
            assert server.seen[-1].startswith(sent)
            written = everything_written(tmp_path, done)
            assert PASSWORD not in written and TOKEN not in written


def test_exec_plugin_stderr_refresh_token_is_redacted(tmp_path):
    plugin = tmp_path / "plugin.sh"
    plugin.write_text(f"#!/bin/sh\necho 'refresh failed: refresh_token {REFRESH} expired' >&2\nexit 1\n")
    plugin.chmod(0o700)
    user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": str(plugin),
                     "interactiveMode": "Never"}}
    config = kubeconfig(tmp_path / "kc", "http://127.0.0.1:9", user)
    done = run_report(tmp_path, config)
    assert done.returncode != 0 and "exec credential plugin failed" in done.stderr, done.stderr
    assert REFRESH not in everything_written(tmp_path, done)


async def test_tui_header_and_log_screen_hold_no_echoed_token(tmp_path, ui_home):
    from kataview.sources.live import LiveSource
    from kataview.sources.settings import Settings
    from kataview.ui.app import make_app
    from test_ui_terminal_safe import screen_text

    with EchoServer() as server:
        config = kubeconfig(tmp_path / "kc", f"http://127.0.0.1:{server.port}", {"token": TOKEN})
        settings = Settings(kubeconfig=str(config), read_only=True)
        app = make_app(settings, LiveSource(settings, str(config)))
        async with app.run_test(size=(200, 50)) as pilot:
            deadline = time.monotonic() + 15
            while app.view is None or not (app.view.state.last_error or app.view.state.errors):
                assert time.monotonic() < deadline
                await pilot.pause(0.1)
            main = await screen_text(pilot)
            await pilot.press("L")
            log = await screen_text(pilot)
    assert "denied" in main + log
    assert TOKEN not in main + log and REFRESH not in main + log


@pytest.mark.parametrize("text,secret", [
    (f"refresh_token {REFRESH}", REFRESH),
    (f'{{"access_token": "{TOKEN}", "expires_in": 3600}}', TOKEN),
    (f"client-secret={TOKEN}", TOKEN),
    (f"https://alice:{PASSWORD}@10.0.0.1:6443/api", PASSWORD),
])
def test_key_value_forms_and_userinfo_are_redacted(text, secret):
    assert secret not in redact(text) and REDACTED in redact(text)


def test_ordinary_words_after_token_are_kept():
    text = "the token expired; password is required"
    assert redact(text) == text


def test_kubeconfig_user_credentials_are_registered():
    secret = "oidc-refresh-" + "x7" * 10
    register_credentials(None, {"auth-provider": {"name": "oidc", "config": {"refresh-token": secret}}})
    assert secret not in redact(f"said {secret}")
    assert split_userinfo("https://bob:s3cr3t-pw@h:6443/x") == ("https://h:6443/x", "bob", "s3cr3t-pw")
    assert "s3cr3t-pw" not in redact("got s3cr3t-pw back")
    register_secret(b"bytes-secret-123")
    assert "bytes-secret-123" not in redact("a bytes-secret-123 b")
