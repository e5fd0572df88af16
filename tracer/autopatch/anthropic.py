"""Anthropic SDK (``anthropic``): messages, sync and async, ``stream=True`` included
(tool use and prompt-cache tokens are read from the message like any other)."""

from __future__ import annotations

# (module, class, method, span name, op kind, record the output)
TARGETS = [
    ("anthropic.resources.messages.messages", "Messages", "create",
     "anthropic.messages.create", "llm", False),
    ("anthropic.resources.messages.messages", "AsyncMessages", "create",
     "anthropic.messages.create", "llm", False),
]
