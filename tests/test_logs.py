"""The log file: private (0600), rotated, never the terminal under the TUI, and no secrets in
it or on screen."""

from __future__ import annotations

import logging
import os
import stat
import sys
import time

import pytest

from kataview.cli import logsetup
from kataview.cli.logsetup import log_path, redact, setup_logging
from kataview.demo.apiserver import serve_in_thread
from kataview.demo.scenario import classic_objects
from kataview.sources.live import LiveSource
from kataview.sources.logged import LoggedSource
from kataview.sources.settings import Settings
from kataview.ui.app import make_app

TOKEN = "tok-SECRET-7f3a9c1e5b2d"
PEM = ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n"
       "-----END OPENSSH PRIVATE KEY-----")


@pytest.fixture(autouse=True)
def isolated_state(isolated_home):
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in before:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


@pytest.mark.parametrize("text,secret", [
    ("GET /api/v1/pods Authorization: Bearer eyJhbGciOi.payload.sig", "eyJhbGciOi"),
    ('{"kind": "ExecCredential", "status": {"token": "s3cr3t-value"}}', "s3cr3t-value"),
    ("users:\n- name: u\n  user:\n    token: abcdef123456\n", "abcdef123456"),
    ("password=hunter2hunter2 user=admin", "hunter2"),
    ("client-key-data: LS0tLS1CRUdJTi", "LS0tLS1CRUdJTi"),
    (f"key file:\n{PEM}\nend", "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ"),
    ("Authorization: Basic YWRtaW46c2VjcmV0", "YWRtaW46c2VjcmV0"),
])
def test_redaction(text, secret):
    assert secret not in redact(text)
    assert "<redacted>" in redact(text)


def test_harmless_text_is_untouched():
    text = "pods: watch re-established after 3 failed attempt(s); resourceVersion=1234 tokens=5"
    assert redact(text) == text


def test_file_is_private_rotated_and_in_the_state_directory(tmp_path, monkeypatch):
    monkeypatch.setattr(logsetup, "MAX_BYTES", 2000)
    path = setup_logging(interactive=True)
    assert path == tmp_path / "state" / "kataview" / "kataview.log" == log_path()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    logger = logging.getLogger("kataview.test")
    for index in range(200):
        logger.warning("line %d with a Bearer %s in it", index, TOKEN)
    files = sorted(path.parent.glob("kataview.log*"))
    assert [f.name for f in files] == ["kataview.log", "kataview.log.1", "kataview.log.2",
                                       "kataview.log.3"]  # 3 old files kept
    for file in files:
        assert stat.S_IMODE(file.stat().st_mode) == 0o600
        assert TOKEN not in file.read_text()
    try:
        raise RuntimeError(f"exec plugin said token: {TOKEN}")
    except RuntimeError:
        logger.exception("failed")
    assert TOKEN not in path.read_text() and "RuntimeError" in path.read_text()


def test_no_stderr_handler_and_libraries_quietened(capsys):
    logging.basicConfig(stream=sys.stderr)  # as a library might have done
    setup_logging(interactive=True)
    logging.getLogger("kubernetes.client.rest").info("response body: chatter")
    logging.getLogger("asyncssh").info("Opening SSH connection")
    logging.getLogger("kataview.kube.informer").warning("pods: HTTP 500")
    logging.error("the kubernetes client's module-level logging.error()")
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""
    text = log_path().read_text()
    assert "pods: HTTP 500" in text and "logging.error()" in text
    assert "chatter" not in text and "Opening SSH connection" not in text


async def test_a_session_with_a_known_token_leaks_it_nowhere(tmp_path):
    """A TUI session whose token expires: the 401 and the error text reach the log and the
    screen, the token does not."""
    with serve_in_thread(classic_objects(), users={TOKEN: "alice"}) as server:
        kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig", user_token=TOKEN)
        setup_logging(interactive=True)
        settings = Settings(kubeconfig=str(kubeconfig), read_only=True)
        app = make_app(settings, LoggedSource(LiveSource(settings, str(kubeconfig))))
        async with app.run_test(size=(200, 50)) as pilot:
            deadline = time.monotonic() + 10
            while app.view is None or app.view.state.phase != "live":
                assert time.monotonic() < deadline
                await pilot.pause(0.05)
            server.users.clear()  # the token is revoked
            server.faults.drop_watches()
            logging.getLogger("kataview.test").info("sent Authorization: Bearer %s", TOKEN)
            # leaving "live" may come first from the dropped watch; the 401 follows on the
            # informers' next request, after their backoff
            while app.view.state.phase == "live" or "401" not in log_path().read_text():
                assert time.monotonic() < deadline + 10
                await pilot.pause(0.05)
            await pilot.press("L")
            await pilot.pause(0.5)
            from textual.widgets import Static

            from kataview.ui.widgets.virtual_table import VirtualTable

            screen = [str(w.render()) for w in app.screen.query(Static)]
            for table in app.screen.query(VirtualTable):
                screen += [table.render_line(y).text for y in range(table.size.height)]
            screen_text = "\n".join(screen)
    text = log_path().read_text()
    assert "401" in text and "Unauthorized" in text and "cluster live" in text
    assert "Unauthorized" in screen_text
    assert TOKEN not in text and TOKEN not in screen_text
    assert TOKEN[4:14] not in text  # not even a part of it
    assert stat.S_IMODE(os.stat(log_path()).st_mode) == 0o600
