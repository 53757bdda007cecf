"""Where kataview's log goes: a private, rotated file under the XDG state directory.

    path = setup_logging(interactive=True)     # before the TUI starts

- `$XDG_STATE_HOME/kataview/kataview.log` (default `~/.local/state/kataview/kataview.log`),
  mode 0600 in a 0700 directory, rotated at 5 MiB with 3 old files kept (also 0600);
- API and SSH errors, reconnects and watch state changes (the kube layer logs them; this
  module also logs the cluster's phase changes, see kataview.sources.logged);
- never the terminal while the TUI runs: every stderr handler is removed from the root logger,
  the kubernetes client, urllib3, aiohttp and asyncssh are quietened to WARNING and still go to
  the file only, Python warnings are captured into the file;
- nothing secret: `redact()` runs on every record before it is written (Bearer and Basic
  credentials, `token:`/`password:`-like fields, PEM private key blocks). The log screen uses
  the same function for what it shows;
- nothing a terminal acts on: every record is passed through `terminal_safe` (control and bidi
  characters shown, never written), so `cat`/`tail` of the file cannot replay an escape
  sequence a server or a node sent. `print_error` does both for the commands' stderr.

No textual here: the CLI's non-interactive commands call it too.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from pathlib import Path
from typing import Any, Mapping

from kataview.model.redaction import REDACTED, redact, register_secret  # noqa: F401 - their home before
from kataview.model.terminal_text import terminal_safe
from kataview.model.xdg import state_dir

LOG_NAME = "kataview.log"
MAX_BYTES = 5 * 1024 * 1024
BACKUPS = 3
FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
# Libraries that log at INFO by default (connection chatter) or warn through the root logger.
QUIET = ("kubernetes", "urllib3", "aiohttp", "asyncssh", "asyncio", "websocket", "markdown_it")


def error_text(message: object) -> str:
    """What an error path may put on a terminal: redacted, then made terminal-safe (newlines
    and tabs kept)."""
    return terminal_safe(redact(str(message)), lines=True)


def print_error(prefix: str, message: object) -> None:
    """`prefix: message` on stderr, redacted and terminal-safe (a server's error body, a
    node's output or an exception's text may hold a token or an escape sequence)."""
    print(f"{prefix}: {error_text(message)}", file=sys.stderr)


def terminal_safe_excepthook(kind: type[BaseException], error: BaseException, trace: Any) -> None:
    """sys.excepthook for the commands: an unexpected traceback still reaches stderr, redacted
    and terminal-safe (its last line quotes the exception, which may quote a server)."""
    import traceback

    sys.stderr.write(error_text("".join(traceback.format_exception(kind, error, trace))))


class RedactingFilter(logging.Filter):
    """Formats the record once, redacts message, traceback and stack, makes them
    terminal-safe, and passes it on."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not lose the record
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = error_text(message), None
        if record.exc_info:
            record.exc_text = error_text(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        if record.stack_info:
            record.stack_info = error_text(record.stack_info)
        return True


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """RotatingFileHandler whose files (the current one and each rollover) are mode 0600."""

    def _open(self):  # noqa: ANN202 - logging's signature
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.fchmod(fd, 0o600)  # an older file with looser bits
        return open(fd, self.mode, encoding=self.encoding, errors=self.errors)


def log_path(environ: Mapping[str, str] | None = None) -> Path:
    return state_dir(os.environ if environ is None else environ) / LOG_NAME


def _ours(handler: logging.Handler) -> bool:
    return getattr(handler, "_kataview", False)


def _to_terminal(handler: logging.Handler) -> bool:
    stream = getattr(handler, "stream", None)
    return stream is not None and (stream in (sys.stderr, sys.stdout, sys.__stderr__, sys.__stdout__)
                                   or (hasattr(stream, "isatty") and _isatty(stream)))


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (ValueError, OSError):
        return False


def setup_logging(*, interactive: bool, level: int | str | None = None,
                  path: Path | None = None) -> Path | None:
    """Send every log record to the private log file; returns its path (None if it cannot be
    opened: then a TUI logs nowhere, a command logs warnings to stderr). Idempotent.

    interactive: a TUI is about to own the terminal, so no handler may write to it.
    level: default INFO, or $KATAVIEW_LOG_LEVEL (debug, info, warning)."""
    level = level or os.environ.get("KATAVIEW_LOG_LEVEL", "INFO")
    if isinstance(level, str):
        level = logging.getLevelName(level.upper())
        level = level if isinstance(level, int) else logging.INFO
    root = logging.getLogger()
    for handler in list(root.handlers):
        # ours from an earlier call; any stream handler (basicConfig) would write to the terminal
        if _ours(handler) or _to_terminal(handler):
            root.removeHandler(handler)
            if _ours(handler):
                handler.close()
    path = path or log_path()
    handler: logging.Handler
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handler = PrivateRotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS,
                                             encoding="utf-8", delay=False)
        opened: Path | None = path
    except OSError:
        handler = logging.NullHandler() if interactive else logging.StreamHandler()
        handler.setLevel(logging.WARNING)
        opened = None
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RedactingFilter())
    handler._kataview = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # asyncssh among them: its set_log_level sets this same logger's level, and importing
    # asyncssh for it cost ~0.15 s of every start
    for name in QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, level))
    logging.captureWarnings(True)  # warnings.warn() goes to the file, not to stderr
    if not interactive:
        sys.excepthook = terminal_safe_excepthook
    logging.getLogger("kataview").info("kataview started (pid %d)", os.getpid())
    return opened
