"""On-disk cache of judge replies, so re-running an evaluation costs nothing.

SQLite (stdlib, safe across threads and processes with WAL). The default location is
``~/.spyglass/judge-cache/judge-cache.sqlite``; ``SPYGLASS_JUDGE_CACHE`` names another
directory or ``.sqlite``/``.db`` file, or disables the cache with ``off``.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from scorers.base import ScorerError

_DISABLED = {"off", "0", "false", "no", "none", ""}


def default_cache_path() -> Path | None:
    """Where the cache lives per ``SPYGLASS_JUDGE_CACHE`` (None when disabled)."""
    env = os.environ.get("SPYGLASS_JUDGE_CACHE")
    if env is not None:
        if env.strip().lower() in _DISABLED:
            return None
        return _file_for(Path(env).expanduser())
    return Path.home() / ".spyglass" / "judge-cache" / "judge-cache.sqlite"


def _file_for(path: Path) -> Path:
    return path if path.suffix in (".sqlite", ".db", ".sqlite3") else path / "judge-cache.sqlite"


def cache_key(**parts: Any) -> str:
    """A stable hash of the parts (template, model, inputs, parameters)."""
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=repr)
    return hashlib.sha256(blob.encode()).hexdigest()


class JudgeCache:
    """Maps a cache key to the judge's raw reply, model and usage."""

    def __init__(self, path: str | Path) -> None:
        self.path = _file_for(Path(path).expanduser())
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, content TEXT NOT NULL,"
                " model TEXT, usage TEXT, created REAL NOT NULL)"
            )
            self._conn.commit()
        except (OSError, sqlite3.Error) as exc:
            raise ScorerError(f"judge cache at {self.path} cannot be opened: {exc}") from exc
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> dict[str, Any] | None:
        """The cached reply for ``key`` or None."""
        with self._lock:
            row = self._conn.execute(
                "SELECT content, model, usage FROM replies WHERE key = ?", (key,)
            ).fetchone()
            if row is None:
                self.misses += 1
                return None
            self.hits += 1
        return {"content": row[0], "model": row[1], "usage": json.loads(row[2]) if row[2] else None}

    def put(self, key: str, content: str, model: str | None, usage: Any) -> None:
        """Store a reply that parsed well."""
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO replies VALUES (?, ?, ?, ?, ?)",
                (key, content, model, json.dumps(usage) if usage is not None else None, time.time()),
            )
            self._conn.commit()

    def __len__(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM replies").fetchone()[0])

    def clear(self) -> None:
        """Delete every cached reply."""
        with self._lock:
            self._conn.execute("DELETE FROM replies")
            self._conn.commit()


_OPEN: dict[Path, JudgeCache] = {}
_OPEN_LOCK = threading.Lock()


def open_cache(path: str | Path | None) -> JudgeCache | None:
    """The shared :class:`JudgeCache` for ``path`` (None: the default per environment)."""
    resolved = _file_for(Path(path).expanduser()) if path is not None else default_cache_path()
    if resolved is None:
        return None
    with _OPEN_LOCK:
        cache = _OPEN.get(resolved)
        if cache is None:
            cache = _OPEN[resolved] = JudgeCache(resolved)
        return cache
