"""Never lose an operator's file: timestamped backups and atomic replacement.

`atomic_write` writes a temp file in the target's directory, copies mode, owner and extended
attributes (SELinux label, ACLs), fsyncs it,
calls `before_rename` (verification, or a failure injected by a test), renames it over the
target and fsyncs the directory. Any exception before the rename removes the temp file and
leaves the target untouched. Symlinks are followed, so a linked config stays linked.
"""

from __future__ import annotations

import errno
import itertools
import os
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator


def backup_names(path: Path, now: datetime | None = None, directory: Path | None = None) -> Iterator[Path]:
    """`config.toml.kataview-20261122T041500Z.bak`, then `...Z-1.bak`, `...Z-2.bak`, ... beside
    `path` (or in `directory`)."""
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    place = Path(directory) if directory is not None else path.parent
    yield place / f"{path.name}.kataview-{stamp}.bak"
    for counter in itertools.count(1):
        yield place / f"{path.name}.kataview-{stamp}-{counter}.bak"


def backup_name(path: Path, now: datetime | None = None, directory: Path | None = None) -> Path:
    """The first backup name not taken yet (a preview: `backup` claims its name atomically)."""
    return next(p for p in backup_names(path, now, directory) if not p.exists())


def _claim_name(tmp: Path, real: Path, now: datetime | None, place: Path) -> Path:
    """Give the finished copy `tmp` the first free backup name. A hard link fails where the
    name exists, so two runs in the same second never take (and overwrite) the same name."""
    for candidate in backup_names(real, now, place):
        try:
            os.link(tmp, candidate)
        except FileExistsError:
            continue
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EMLINK):
                raise
            candidate = backup_name(real, now, place)  # no hard links on this file system
            os.replace(tmp, candidate)
        return candidate
    raise AssertionError("unreachable: backup_names is endless")  # pragma: no cover


def _copy_owner(src: os.stat_result, fd: int) -> None:
    try:
        os.fchown(fd, src.st_uid, src.st_gid)
    except PermissionError:
        pass  # not root: the file keeps our own owner, which was the owner we could write as


class AttributeNotKept(OSError):
    """The new file cannot carry an extended attribute of the file it replaces."""


def _copy_xattrs(source: Path, fd: int) -> None:
    """Give the open new file every extended attribute of `source`: the SELinux label
    (security.selinux), POSIX ACLs (system.posix_acl_access), user.* and the rest. A rename
    replaces the inode, so whatever is not copied is lost; AttributeNotKept when one cannot be
    set (and the new file does not already carry the same value, e.g. a label it inherited).
    trusted.* attributes are invisible without CAP_SYS_ADMIN and so are not seen to be lost."""
    try:
        names = os.listxattr(source)
    except OSError as exc:
        if exc.errno in (errno.ENOTSUP, errno.ENODATA):
            return
        raise
    for name in names:
        try:
            value = os.getxattr(source, name)
        except OSError as exc:
            if exc.errno == errno.ENODATA:  # removed meanwhile
                continue
            raise
        try:
            os.setxattr(fd, name, value)
        except OSError as exc:
            try:
                if os.getxattr(fd, name) == value:
                    continue
            except OSError:
                pass
            raise AttributeNotKept(exc.errno, f"cannot keep extended attribute {name} on the new "
                                   f"file ({exc.strerror}); replacing the file would drop it",
                                   str(source)) from None


def _copy_synced(source: Path, fd: int) -> None:
    """Copy `source`'s bytes into the open `fd` and fsync them; closes `fd`."""
    with os.fdopen(fd, "wb") as dst, open(source, "rb") as src:
        shutil.copyfileobj(src, dst)
        dst.flush()
        os.fsync(dst.fileno())


def backup(path: Path, now: datetime | None = None, directory: Path | None = None) -> Path:
    """Copy `path` (content, mode, times, xattrs, owner) to a timestamped backup beside it, or
    in `directory` (created 0700) where a file beside it would be read as config (crio.conf.d).

    The copy goes to a hidden temp name, is fsynced, and only then gets the backup's name (by
    a hard link, which never replaces another run's backup): a full disk leaves no truncated
    file that looks like a backup (the temp is removed)."""
    real = Path(os.path.realpath(path))
    place = Path(directory) if directory is not None else real.parent
    if directory is not None:
        place.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{real.name}.kataview-", suffix=".bak.tmp", dir=place)
    tmp = Path(tmp_name)
    try:
        _copy_synced(real, fd)
        shutil.copystat(real, tmp)
        stat = real.stat()
        try:
            os.chown(tmp, stat.st_uid, stat.st_gid)
        except PermissionError:
            pass
        target = _claim_name(tmp, real, now, place)
    except BaseException as exc:
        if isinstance(exc, OSError) and exc.filename is None:
            exc.filename = str(backup_name(real, now, place))  # the name the backup would have had
        raise
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(place)
    return target


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, *, mode: int = 0o644, follow_symlinks: bool = True,
                 before_rename: Callable[[Path], None] | None = None) -> Path:
    """Replace `path` with `data` atomically; keep its mode and owner. Returns the real path.
    With `follow_symlinks` off the rename goes to `path` itself: a symlink there is replaced,
    its target never written."""
    real = Path(os.path.realpath(path)) if follow_symlinks else Path(os.path.abspath(path))
    existing = real.stat() if real.exists() and not real.is_symlink() else None
    fd, tmp_name = tempfile.mkstemp(prefix=f".{real.name}.kataview-", suffix=".tmp", dir=real.parent)
    tmp = Path(tmp_name)
    try:
        try:
            os.fchmod(fd, (existing.st_mode & 0o7777) if existing else mode)
            if existing:
                _copy_owner(existing, fd)  # before the xattrs: chown clears security.capability
                _copy_xattrs(real, fd)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        if before_rename is not None:
            before_rename(tmp)
        os.replace(tmp, real)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(real.parent)
    return real
