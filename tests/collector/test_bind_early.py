"""An open (key-less) collector on a non-loopback address is refused before storage opens
(issue 12): checked as an ordering — storage is never opened, the port never bound — not
as a time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import collector.server as server_module
from collector.auth import KEYS_MARKER_FILE, AuthError, KeyStore
from collector.settings import Settings
from collector.storage import open_storage

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def opened(monkeypatch) -> list[str]:
    """Records every attempt to bind or build the app (which opens storage)."""
    calls: list[str] = []

    def no_app(*args, **kwargs):
        calls.append("create_app")
        raise AssertionError("storage must not be opened")

    def no_bind(host, port):
        calls.append("bind")
        raise AssertionError("the port must not be bound")

    monkeypatch.setattr(server_module, "create_app", no_app)
    monkeypatch.setattr(server_module, "bind_socket", no_bind)
    return calls


def test_fresh_data_dir_is_refused_before_bind_and_storage(tmp_path, opened):
    settings = Settings.load(env={}, host="0.0.0.0", port=0, data_dir=tmp_path / "fresh")
    with pytest.raises(AuthError, match=r"refusing to listen on 0\.0\.0\.0"):
        server_module.run(settings)
    assert opened == []


def test_data_dir_without_active_keys_is_refused_before_storage(tmp_path, opened):
    data_dir = tmp_path / "data"
    settings = Settings.load(env={}, data_dir=data_dir)
    storage = open_storage(settings)
    try:
        store = KeyStore(storage)
        _, record = store.create("alpha")
        assert (data_dir / KEYS_MARKER_FILE).read_text().strip() == "1"
        store.revoke(record.key_id)
        assert (data_dir / KEYS_MARKER_FILE).read_text().strip() == "0"
    finally:
        storage.close()
    with pytest.raises(AuthError, match="refusing to listen"):
        server_module.run(Settings.load(env={}, host="0.0.0.0", port=0, data_dir=data_dir))
    assert opened == []


def test_with_an_active_key_or_insecure_flag_it_goes_on_to_storage(tmp_path, opened):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / KEYS_MARKER_FILE).write_text("2\n")
    with pytest.raises(AssertionError):
        server_module.run(Settings.load(env={}, host="0.0.0.0", port=0, data_dir=data_dir))
    assert opened == ["bind"]
    opened.clear()
    with pytest.raises(AssertionError):
        server_module.run(Settings.load(env={}, host="0.0.0.0", port=0, insecure_no_auth=True,
                                        data_dir=tmp_path / "other"))
    assert opened == ["bind"]


def test_spyglass_serve_refuses_without_touching_the_data_dir(tmp_path):
    data_dir = tmp_path / "never-created"
    done = subprocess.run(
        [sys.executable, "-m", "collector", "serve", "--host", "0.0.0.0", "--port", "0",
         "--data-dir", str(data_dir)],
        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.startswith("spyglass: error: refusing to listen on 0.0.0.0")
    assert len(done.stderr.strip().splitlines()) == 1
    assert not data_dir.exists()
