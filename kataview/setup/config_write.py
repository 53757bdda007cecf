"""The one write path of `kataview setup containerd` and `kataview setup crio`.

Both commands read their config, plan, back up and replace through these functions, so that a
refusal or a failure reads the same and is handled once.

`config_lock` serialises runs on one config from the first read to the last rename, so a run
plans on what the run before it wrote. The lock is an exclusive flock on a lock file beside the
config (`.config.toml.kataview.lock`; for CRI-O beside the drop-in directory), not on the config
itself: the atomic rename puts a new inode at the config's name, so a run waiting on the old
inode would wake up holding a lock nobody else contends for while a third run locks the new
inode, and two would write at once. The lock file is never replaced or removed (removing it
reopens that race), so every run meets on one inode; it is empty except for the holder's pid.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Callable, Iterator, TextIO

from kataview.model.exit_codes import Exit
from kataview.setup.filewrite import AttributeNotKept, atomic_write, backup
from kataview.setup.toml_edit import MAX_CONFIG_BYTES, ConfigError, size_problem

__all__ = ["LOCK_TIMEOUT", "LockTimeout", "check_output_target", "check_replace", "config_lock",
           "lock_path", "read_config", "replace_problems", "run_locked", "warn_replace", "write_config",
           "write_failure"]

LOCK_TIMEOUT = 60.0  # s; one run holds the lock for well under a second


class LockTimeout(OSError):
    """Another run has held the config's lock for longer than the timeout."""


def lock_path(path: Path) -> Path:
    """The lock file of a config file or drop-in directory (symlinks resolved, so every name of
    one config meets on one lock)."""
    real = Path(os.path.realpath(path))
    return real.parent / f".{real.name}.kataview.lock"


@contextmanager
def config_lock(path: Path, timeout: float | None = None) -> Iterator[Path]:
    """Hold the exclusive lock of `path`'s config; LockTimeout after `timeout` seconds
    (default LOCK_TIMEOUT)."""
    timeout = LOCK_TIMEOUT if timeout is None else timeout
    lock = lock_path(path)
    if not lock.parent.is_dir():
        raise ConfigError(f"directory {lock.parent} not found", "check the path (a typo?)",
                          source=str(path))
    fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
                    by = f" (pid {holder})" if holder else ""
                    raise LockTimeout(errno.EWOULDBLOCK, f"another kataview setup{by} holds this lock; "
                                      f"gave up after waiting {timeout:g} s", str(lock)) from None
                time.sleep(0.02)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield lock
        finally:
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # releases the lock


_REMEDY = {
    errno.ENOSPC: "free space on that file system and run again",
    errno.EDQUOT: "free space within your quota and run again",
    errno.EFBIG: "the file size limit (ulimit -f) is too small: raise it and run again",
    errno.EACCES: "run as a user who may write there (sudo?)",
    errno.EPERM: "run as a user who may write there (sudo?), or check the file's attributes (lsattr)",
    errno.EROFS: "that file system is mounted read-only: remount it read-write or write elsewhere",
    errno.EWOULDBLOCK: "wait for the other run to finish (or end it if it hangs) and run again",
}


def write_failure(exc: OSError, fallback: str) -> str:
    """What failed, where, that nothing was changed, and what to do (one error, two lines)."""
    name = exc.filename or fallback
    remedy = _REMEDY.get(exc.errno or 0, "fix the cause and run again")
    if isinstance(exc, AttributeNotKept):
        remedy = ("run as root (with CAP_SYS_ADMIN, CAP_SETFCAP, CAP_FOWNER), or, if the attribute "
                  "may go, remove it (setfattr -x NAME FILE; restorecon for a label) and run again")
    return (f"writing failed: {name}: {exc.strerror or exc}\n  the original file is unchanged (the "
            f"new content was never renamed into place) and no partial backup was left\n"
            f"  what to do: {remedy}")


_KINDS = ((stat.S_ISDIR, "directory"), (stat.S_ISFIFO, "fifo"), (stat.S_ISCHR, "device"),
          (stat.S_ISBLK, "device"), (stat.S_ISSOCK, "socket"))


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "special file")


def _read_bounded(path: Path) -> bytes:
    """The bytes of a regular file of at most MAX_CONFIG_BYTES; ConfigError otherwise. The type
    is checked before opening (a FIFO would block, /dev/zero never end), the size before
    reading, and no more than the limit and one byte is ever read."""
    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"not a regular file ({_kind(info.st_mode)})", "point it at the runtime's "
                          "config file", source=str(path))
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        opened = os.fstat(handle.fileno())
        too_big = size_problem(opened.st_size) if stat.S_ISREG(opened.st_mode) else None
        if too_big is not None:
            raise too_big.located(str(path))
        data = handle.read(MAX_CONFIG_BYTES + 1)
    too_big = size_problem(len(data))
    if too_big is not None:  # it grew since fstat
        raise too_big.located(str(path))
    return data


def read_config(path: Path, *, must_exist: bool = True) -> str | None:
    """The config's text; None when it does not exist and need not. Refusals (ConfigError) name
    the file: missing, not a regular file, over the size limit, not UTF-8, unreadable."""
    if not path.exists():
        if not must_exist:
            return None
        raise ConfigError("file not found", "point --config at containerd's config (usually "
                          "/etc/containerd/config.toml), or create one with "
                          "`containerd config default > FILE` first", source=str(path))
    try:
        return _read_bounded(path).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (byte {exc.start})", "TOML files must be UTF-8; fix the "
                          "encoding and run again", source=str(path)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", "check the path and your permissions "
                          "(sudo?)", source=str(path)) from None


def check_output_target(path: Path) -> None:
    """Refuse an `--output` that is a symlink (it would replace the link's target, which may be
    any file) or exists as anything but a regular file. lstat: the link itself is looked at."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode):
        raise ConfigError(f"--output is a symbolic link (to {os.readlink(path)}); kataview does not "
                          "follow it, since it would replace whatever file the link points to",
                          "give --output the real path of the file you mean, or a new file name",
                          source=str(path))
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"--output is not a regular file ({_kind(info.st_mode)}); nothing was written",
                          "give --output the path of a new or existing regular file", source=str(path))


def replace_problems(path: Path, *, follow_symlinks: bool = True) -> list[tuple[str, str, str]]:
    """Why replacing `path` by rename could surprise its owner: (problem, what --force does,
    what else to do) for a file with other hard links (a rename gives this name a new inode,
    the other names keep the old content) and for a read-only file (root's rename ignores the
    missing write bits, which someone may have cleared on purpose)."""
    try:
        info = os.stat(path) if follow_symlinks else os.lstat(path)
    except FileNotFoundError:
        return []
    found = []
    if stat.S_ISREG(info.st_mode) and info.st_nlink > 1:
        found.append((f"has {info.st_nlink} hard links; an atomic replace gives this name a new "
                      "file and the other names keep the old content",
                      "replaces this name only",
                      "find the other names (find / -samefile FILE) and decide which should change"))
    if stat.S_ISREG(info.st_mode) and not info.st_mode & 0o222:
        found.append((f"is read-only (mode {info.st_mode & 0o7777:04o}); someone may have made it so on "
                      "purpose (config management, a hand-kept file)",
                      "writes it anyway, keeping the mode",
                      "make it writable (chmod u+w FILE) if it may change"))
    return found


def check_replace(path: Path, err: TextIO, *, force: bool, follow_symlinks: bool = True) -> None:
    """Refuse (ConfigError) to replace `path` while `replace_problems` finds something, unless
    `force`; with it, say on `err` what it let through."""
    found = replace_problems(path, follow_symlinks=follow_symlinks)
    if found and not force:
        raise ConfigError("; ".join(f"it {problem}" for problem, _, _ in found) + "; nothing was written",
                          "; ".join(otherwise.replace("FILE", str(path)) for _, _, otherwise in found)
                          + ", then run again; or run with --force, which "
                          + " and ".join(forced for _, forced, _ in found), source=str(path))
    for problem, forced, _ in found:
        print(f"note: {path}: it {problem.replace('has ', 'had ', 1)} (--force {forced})", file=err)


def warn_replace(path: Path, err: TextIO, *, follow_symlinks: bool = True) -> None:
    """For --dry-run: what a real run would refuse without --force."""
    for problem, _, _ in replace_problems(path, follow_symlinks=follow_symlinks):
        print(f"warning: {path}: it {problem}; a real run needs --force", file=err)


def write_config(target: Path, text: str, out: TextIO, err: TextIO, *, force: bool,
                 backup_dir: Path | None = None, follow_symlinks: bool = True,
                 before_rename: Callable[[Path], None] | None = None) -> None:
    """Check `target` (check_replace), back it up when it exists (beside it, or in
    `backup_dir`), then replace it atomically; print what was done."""
    check_replace(target, err, force=force, follow_symlinks=follow_symlinks)
    exists = target.exists() if follow_symlinks else os.path.lexists(target)
    if exists:
        print(f"backup: {backup(target, directory=backup_dir)}", file=out)
    atomic_write(target, text.encode("utf-8"), follow_symlinks=follow_symlinks, before_rename=before_rename)
    print(f"wrote {target}", file=out)


def run_locked(prog: str, config: str, err: TextIO, run: Callable[[], int], *, dry_run: bool,
               check: Callable[[], None] | None = None) -> int:
    """A setup command's work, holding the config's lock (a dry run takes none). `check` runs
    first, before the lock, for refusals that need no file. A ConfigError is a refusal
    (Exit.CONFIG), an OSError a failed write (Exit.WRITE_FAILED), each one line on err."""
    try:
        if check is not None:
            check()
        with nullcontext() if dry_run else config_lock(Path(config)):
            return run()
    except ConfigError as exc:
        print(f"{prog}: refused: {exc}", file=err)
        return Exit.CONFIG
    except OSError as exc:
        print(f"{prog}: {write_failure(exc, config)}", file=err)
        return Exit.WRITE_FAILED
