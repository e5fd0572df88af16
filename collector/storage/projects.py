"""Per-project settings kept in ClickHouse: today the retention (TTL) in days."""

from __future__ import annotations

import threading
import time

from collector.storage.base import Storage, StorageError
from common.wire.projects import ProjectRetention, RetentionList

MAX_TTL_DAYS = 65535


class ProjectSettings:
    """Reads and writes ``project_settings``; caches TTLs briefly because ingest stamps
    every span with its project's TTL."""

    def __init__(self, storage: Storage, default_ttl_days: int = 0, cache_s: float = 5.0) -> None:
        self.storage = storage
        self.default_ttl_days = default_ttl_days
        self._cache_s = cache_s
        self._cache: dict[str, int] = {}
        self._loaded_at = 0.0
        self._lock = threading.Lock()

    def ttl_days(self, project: str) -> int:
        """Retention of ``project`` in days (0 = forever), the default when unset."""
        with self._lock:
            if time.monotonic() - self._loaded_at > self._cache_s:
                rows = self.storage.query(
                    "SELECT project, argMax(ttl_days, updated_at) AS ttl_days "
                    "FROM project_settings GROUP BY project"
                )
                self._cache = {r["project"]: int(r["ttl_days"]) for r in rows}
                self._loaded_at = time.monotonic()
            return self._cache.get(project, self.default_ttl_days)

    def stored_ttls(self) -> dict[str, int]:
        """Every project with a retention set explicitly, read now (not from the cache)."""
        rows = self.storage.query(
            "SELECT project, argMax(ttl_days, updated_at) AS ttl_days "
            "FROM project_settings GROUP BY project ORDER BY project")
        return {r["project"]: int(r["ttl_days"]) for r in rows}

    def retention(self) -> RetentionList:
        """The default retention and every explicitly set one (the CLI's and API's answer)."""
        return RetentionList(
            default_ttl_days=self.default_ttl_days,
            projects=[ProjectRetention(project=p, ttl_days=d, explicit=True)
                      for p, d in self.stored_ttls().items()])

    def set_ttl_days(self, project: str, days: int) -> None:
        """Keep ``project``'s spans ``days`` days (0 = forever), for stored spans too:
        existing rows are re-stamped by a mutation, and merges then drop expired ones."""
        if not project:
            raise StorageError("project name must not be empty")
        if not 0 <= days <= MAX_TTL_DAYS:
            raise StorageError(f"ttl_days must be between 0 and {MAX_TTL_DAYS}, got {days}")
        self.storage.insert("project_settings", [{"project": project, "ttl_days": days}])
        for table in ("spans", "trace_index", "span_minutes", "span_rollup"):
            self.storage.command(
                f"ALTER TABLE {self.storage.mutation_target(table)} UPDATE ttl_days = {{days:UInt16}} WHERE project = {{p:String}}",
                {"days": days, "p": project},
            )
        with self._lock:
            self._cache[project] = days
