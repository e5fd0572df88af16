"""Bodies of ``/api/feedback``: what a client posts and what the collector answers."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta

SOURCES = ("human", "scorer", "judge")
MAX_NAME = 200
MAX_TEXT = 100_000
MAX_BATCH = 1000
"""Most items one ``POST /api/feedback`` stores (a list body)."""

# Ids and names are checked by the collector after decoding (hex, not blank), so its 400
# says "must be 32 hex characters" rather than quoting a regular expression.
TraceId = Annotated[str, Meta(max_length=64, description="the trace: 32 hex characters")]
SpanId = Annotated[str, Meta(max_length=64, description="one span of the trace: 16 hex characters")]
Name = Annotated[str, Meta(max_length=MAX_NAME, description="what is scored or labelled (not blank)")]
Text = Annotated[str, Meta(max_length=MAX_TEXT)]
ExactInt = Annotated[int, Meta(ge=-(2**53), le=2**53,
                               description="an integer score (stored exactly up to 2^53)")]
Value = ExactInt | float | bool | Text
"""A number (integers come back as integers), a boolean or a string label."""


class FeedbackIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """A score, label or comment on a trace (or one span of it).

    ``value`` is a number, a boolean or a string label. ``project`` is needed only for a
    trace the collector has not stored yet (with an API key, it is the key's project)."""

    trace_id: TraceId
    name: Name
    value: Value
    id: Annotated[str, Meta(max_length=64, description=(
        "the client's own id (letters, digits, - and _): posting an id that is already "
        "stored stores nothing new, so retries and replays are idempotent"))] | None = None
    span_id: SpanId | None = None
    project: Annotated[str, Meta(max_length=128)] | None = None
    source: Annotated[str, Meta(max_length=20, description="human (default) | scorer | judge")] | None = None
    author: Annotated[str, Meta(max_length=MAX_NAME)] | None = None
    comment: Text | None = None
    metadata: dict[str, Any] | None = None


FeedbackBatch = Annotated[list[FeedbackIn], Meta(min_length=1, max_length=MAX_BATCH)]
"""A list body of ``POST /api/feedback``: up to MAX_BATCH items stored in one insert."""


def feedback_id(*parts: str) -> str:
    """A deterministic feedback id from its parts (monitor, span, scorer): 32 hex characters,
    so the same score posted twice, after a restart or a lost state file, is stored once."""
    import hashlib

    digest = hashlib.blake2b(digest_size=16)
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\x00")
    return digest.hexdigest()


class Feedback(msgspec.Struct, kw_only=True):
    """One stored feedback item."""

    id: str
    project: str
    trace_id: str
    span_id: str | None
    name: str
    value: int | float | bool | str
    source: str
    author: str | None
    comment: str | None
    metadata: dict[str, Any] | None
    created_at: str


class FeedbackBatchResult(msgspec.Struct, kw_only=True):
    """The answer to a list body: how many items were new and how many ids were stored already."""

    stored: int
    duplicates: int
    ids: list[str]


class FeedbackList(msgspec.Struct, kw_only=True):
    """Feedback oldest first; ``next_cursor`` continues the listing when there is more."""

    feedback: list[Feedback]
    next_cursor: str | None
