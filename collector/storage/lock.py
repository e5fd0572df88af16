"""An exclusive lock on a chDB data directory, so two processes never open one store."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

LOCK_NAME = "spyglass.lock"


class DataDirLockedError(RuntimeError):
    """Another process holds the data directory; the message names the path and its pid
    (also in ``data_dir`` and ``holder``, for callers that word their own advice)."""

    def __init__(self, message: str, data_dir: Path | None = None, holder: str = "unknown") -> None:
        super().__init__(message)
        self.data_dir = data_dir
        self.holder = holder


class DataDirLock:
    """``fcntl.flock`` on ``<data_dir>/spyglass.lock``; the file records the holder's pid.

    The kernel drops the lock when the holder exits, even on ``kill -9``, so a stale lock
    file never blocks a restart.
    """

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise :class:`DataDirLockedError` naming the holder."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise DataDirLockedError(
                f"data directory {self.path.parent} is in use by another Spyglass process "
                f"(pid {holder}, lock file {self.path}); stop it or pass a different --data-dir",
                self.path.parent, holder,
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        """Drop the lock (idempotent)."""
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                os.close(self._fd)
                self._fd = None
