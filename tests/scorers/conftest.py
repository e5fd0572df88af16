"""Fixtures for the scorers' tests: the OpenAI stub server and an isolated judge cache."""

from __future__ import annotations

from pathlib import Path

import pytest
from stubs.openai_server import OpenAIStub, openai_stub  # re-exported fixture


@pytest.fixture(autouse=True)
def judge_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own judge cache and no judge settings from the environment."""
    cache = tmp_path / "judge-cache"
    monkeypatch.setenv("SPYGLASS_JUDGE_CACHE", str(cache))
    for key in ("SPYGLASS_JUDGE_BASE_URL", "SPYGLASS_JUDGE_API_KEY", "SPYGLASS_JUDGE_MODEL",
                "SPYGLASS_EMBEDDING_BASE_URL", "SPYGLASS_EMBEDDING_API_KEY", "SPYGLASS_EMBEDDING_MODEL"):
        monkeypatch.delenv(key, raising=False)
    return cache


__all__ = ["OpenAIStub", "openai_stub"]
