"""Where the setup's node-side actions run: reading and writing files, running commands.

`Executor` is the protocol the steps use; `LocalExecutor` does it on this machine (the
non-interactive `kataview setup ...` commands and tests). An SSH executor built on the hosts
layer implements the same methods for remote nodes.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol, Sequence

from kataview.setup.filewrite import atomic_write, backup

__all__ = ["CommandResult", "Executor", "LocalExecutor"]


@dataclass(frozen=True, slots=True)
class CommandResult:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def summary(self) -> str:
        tail = (self.stderr or self.stdout).strip().splitlines()[-3:]
        return f"`{' '.join(self.argv)}` exited {self.returncode}" + (f": {' / '.join(tail)}" if tail else "")


class Executor(Protocol):
    name: str  # "local" or the node's host name

    async def read_text(self, path: str) -> str | None:
        """The file's text (UTF-8), or None when it does not exist."""

    async def list_files(self, directory: str) -> list[str]:
        """Paths of the regular files in `directory`, sorted by name; [] when it is missing."""

    async def write_text(self, path: str, text: str, *,
                         before_rename: Callable[[Path], None] | None = None) -> None:
        """Atomic replace (temp file in the same directory, fsync, rename), keeping mode/owner."""

    async def backup(self, path: str, directory: str | None = None) -> str:
        """Copy `path` to a timestamped backup (beside it, or in `directory`); its path."""

    async def restore(self, backup_path: str, path: str) -> None:
        """Put a backup's content back at `path`, atomically."""

    async def remove(self, path: str) -> None:
        """Delete `path` if it exists."""

    async def run(self, argv: Sequence[str], timeout: float = 120.0) -> CommandResult:
        """Run a command (no shell) and wait for it, at most `timeout` seconds."""


class LocalExecutor:
    name = "local"

    async def read_text(self, path: str) -> str | None:
        def read() -> str | None:
            try:
                return Path(path).read_bytes().decode("utf-8")
            except FileNotFoundError:
                return None
        return await asyncio.to_thread(read)

    async def list_files(self, directory: str) -> list[str]:
        def listing() -> list[str]:
            folder = Path(directory)
            if not folder.is_dir():
                return []
            return [str(p) for p in sorted(folder.iterdir(), key=lambda p: p.name) if p.is_file()]
        return await asyncio.to_thread(listing)

    async def write_text(self, path: str, text: str, *,
                         before_rename: Callable[[Path], None] | None = None) -> None:
        await asyncio.to_thread(atomic_write, Path(path), text.encode("utf-8"),
                                before_rename=before_rename)

    async def backup(self, path: str, directory: str | None = None) -> str:
        saved = await asyncio.to_thread(backup, Path(path), None, Path(directory) if directory else None)
        return str(saved)

    async def restore(self, backup_path: str, path: str) -> None:
        data = await asyncio.to_thread(Path(backup_path).read_bytes)
        await asyncio.to_thread(atomic_write, Path(path), data)

    async def remove(self, path: str) -> None:
        await asyncio.to_thread(lambda: Path(path).unlink(missing_ok=True))

    async def run(self, argv: Sequence[str], timeout: float = 120.0) -> CommandResult:
        process = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env={**os.environ, "LC_ALL": "C"})
        try:
            out, err = await asyncio.wait_for(process.communicate(), timeout)
        except asyncio.TimeoutError:
            process.kill()
            await process.wait()
            return CommandResult(tuple(argv), -9, "", f"timed out after {timeout:g} s (killed)")
        return CommandResult(tuple(argv), process.returncode or 0, out.decode(errors="replace"),
                             err.decode(errors="replace"))
