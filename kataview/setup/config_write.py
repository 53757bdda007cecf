"""The one write path of `kataview setup containerd` and `kataview setup crio`.

Both commands read their config, plan, back up and replace through these functions, so that a
refusal or a failure reads the same and is handled once.
"""

from __future__ import annotations

import errno

__all__ = ["write_failure"]

_REMEDY = {
    errno.ENOSPC: "free space on that file system and run again",
    errno.EDQUOT: "free space within your quota and run again",
    errno.EFBIG: "the file size limit (ulimit -f) is too small: raise it and run again",
    errno.EACCES: "run as a user who may write there (sudo?)",
    errno.EPERM: "run as a user who may write there (sudo?), or check the file's attributes (lsattr)",
    errno.EROFS: "that file system is mounted read-only: remount it read-write or write elsewhere",
}


def write_failure(exc: OSError, fallback: str) -> str:
    """What failed, where, that nothing was changed, and what to do (one error, two lines)."""
    name = exc.filename or fallback
    remedy = _REMEDY.get(exc.errno or 0, "fix the cause and run again")
    return (f"writing failed: {name}: {exc.strerror or exc}\n  the original file is unchanged (the "
            f"new content was never renamed into place) and no partial backup was left\n"
            f"  what to do: {remedy}")
