"""Migration 0200 upgrades a data dir made before prompts existed, in place."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx

from collector.settings import Settings
from collector.storage import open_storage
from collector.storage.migrations import MIGRATIONS_DIR, migrate
from tests.conftest import start_server


def test_a_data_dir_from_before_prompts_is_upgraded_in_place(tmp_path: Path) -> None:
    old = tmp_path / "old-migrations"
    old.mkdir()
    for sql in MIGRATIONS_DIR.glob("*.sql"):
        if int(sql.name[:4]) < 200:
            shutil.copy(sql, old / sql.name)
    data = tmp_path / "data"
    storage = open_storage(Settings.load(env={}, data_dir=data), migrate=False)
    try:
        migrate(storage, old)
        storage.insert("dataset_versions", [{"project": "p", "name": "kept", "version": 1,
                                             "version_id": "ab" * 32, "row_count": 0,
                                             "row_key": "", "description": ""}])
        assert not storage.query("SELECT name FROM system.tables WHERE database = currentDatabase() "
                                 "AND name = 'prompt_versions'")
    finally:
        storage.close()

    server = start_server(data)
    try:
        pushed = httpx.post(f"{server.url}/api/prompts",
                            json={"project": "p", "name": "fresh", "text": "hi"}, timeout=30)
        assert pushed.status_code == 201, pushed.text
        datasets = httpx.get(f"{server.url}/api/datasets", params={"project": "p"}).json()
        assert [d["name"] for d in datasets["datasets"]] == ["kept"]
    finally:
        server.stop()
