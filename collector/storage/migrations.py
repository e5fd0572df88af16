"""Versioned schema migrations: ``migrations/NNNN_name.sql`` applied in order, once each,
recorded in ``spyglass_migrations``."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from collector.storage.base import Storage, StorageError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
log = logging.getLogger("spyglass.storage")


@dataclass(frozen=True)
class Migration:
    """One migration file: its number, name and SQL statements."""

    version: int
    name: str
    statements: tuple[str, ...]


def split_statements(sql: str) -> list[str]:
    """Statements of a migration file: ``--`` comment lines dropped, split on ``;`` at the
    end of a line (our DDL never has one inside a string)."""
    lines = [ln for ln in sql.splitlines() if not ln.lstrip().startswith("--")]
    parts = re.split(r";\s*(?:\n|$)", "\n".join(lines))
    return [p.strip() for p in parts if p.strip()]


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Every migration in ``directory``, ordered by number; duplicate numbers are an error."""
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise StorageError(f"migration file name {path.name!r} must look like 0001_name.sql")
        version = int(match.group(1))
        if version in found:
            raise StorageError(f"two migrations share number {version:04d}: {path.name}")
        found[version] = Migration(version, match.group(2), tuple(split_statements(path.read_text())))
    return [found[v] for v in sorted(found)]


def applied_versions(storage: Storage) -> set[int]:
    """Numbers of the migrations already recorded in ``spyglass_migrations``."""
    rows = storage.query("SELECT version FROM spyglass_migrations")
    return {int(r["version"]) for r in rows}


def migrate(storage: Storage, directory: Path = MIGRATIONS_DIR) -> list[int]:
    """Apply pending migrations in order; returns the numbers applied now. Idempotent:
    a second run applies nothing, and every statement is IF NOT EXISTS-safe."""
    for statement in storage.schema_statements(
        "CREATE TABLE IF NOT EXISTS spyglass_migrations (version UInt32, name String, "
        "applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) "
        "ENGINE = ReplacingMergeTree(applied_at) ORDER BY version"
    ):
        storage.command(statement)
    done = applied_versions(storage)
    applied: list[int] = []
    for migration in load_migrations(directory):
        if migration.version in done:
            continue
        for statement in (s for m in migration.statements for s in storage.schema_statements(m)):
            try:
                storage.command(statement)
            except StorageError as exc:
                raise StorageError(
                    f"migration {migration.version:04d}_{migration.name} failed: {exc}"
                ) from exc
        storage.insert("spyglass_migrations", [{"version": migration.version, "name": migration.name}])
        log.info("applied migration %04d_%s", migration.version, migration.name)
        applied.append(migration.version)
    return applied
