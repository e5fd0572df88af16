"""The canonical span record being built while conventions are applied."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Mapped:
    """What the conventions found on one span. Each convention fills only fields still
    empty, so the first convention that names a value wins (Spyglass, then GenAI, then
    OpenInference, then OpenLLMetry). ``used`` collects attribute keys folded into these
    fields; they are left out of the stored ``attributes``."""

    attrs: dict[str, Any]
    kind: str = ""
    name: str = ""
    model: str = ""
    provider: str = ""
    input: str = ""
    output: str = ""
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    cached_tokens: int | None = None
    # Anthropic-style prompt-cache writes: part of input_tokens, billed at the write rate.
    cache_creation_tokens: int | None = None
    # The provider's response id (gen_ai.response.id): how stacked instrumentations'
    # spans of one call are recognised (collector/ingest/dedup.py). Also kept in attributes.
    response_id: str = ""
    cost_usd: float | None = None
    user_id: str = ""
    session_id: str = ""
    tags: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)

    def take(self, key: str) -> Any:
        """The attribute ``key`` (None if absent), marked as used when present."""
        value = self.attrs.get(key)
        if value is not None:
            self.used.add(key)
        return value
