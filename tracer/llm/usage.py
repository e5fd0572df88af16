"""Read model, provider, usage and output messages from LLM provider responses.

The one entry point is :func:`extract`; it recognises the response's wire format and
hands it to that provider's reader in ``tracer.llm.providers`` (OpenAI-shaped bodies
and streams, Anthropic messages and events, Gemini, LangChain, Bedrock ``converse``),
as plain dicts or SDK objects, or lists of streamed chunks/events. Nothing here
imports a provider SDK or raises on unfamiliar input: ``extract`` returns ``None``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tracer.llm.providers import anthropic, bedrock, gemini, langchain, openai
from tracer.llm.providers.base import LLMInfo, Usage, plain
from tracer.llm.providers.names import infer_provider

__all__ = ["LLMInfo", "Usage", "extract", "infer_provider", "plain"]

Reader = Callable[[Any], LLMInfo]
StreamReader = Callable[[Sequence[Any]], LLMInfo]

# Shape tests in the order they are tried: the first that matches names the reader.
# Order matters where shapes overlap (a ``choices`` list is also what OpenAI-compatible
# servers send without an ``object`` field, so it comes after the exact formats).
RESPONSE_READERS: tuple[tuple[Callable[[Any], bool], Reader], ...] = (
    (openai.is_chat_object, openai.chat),
    (openai.is_responses, openai.responses),
    (anthropic.is_message, anthropic.message),
    (openai.is_chat, openai.chat),
    (openai.is_embeddings, openai.embeddings),
    (langchain.is_message, langchain.message),
    (bedrock.is_converse, bedrock.converse),
    (gemini.is_response, gemini.response),
)
# Tried on each of the first chunks in turn: the first chunk that matches decides.
STREAM_READERS: tuple[tuple[Callable[[Any], bool], StreamReader], ...] = (
    (openai.is_chat_chunk, openai.chat_stream),
    (openai.is_responses_event, openai.responses_stream),
    (anthropic.is_stream_event, anthropic.stream),
    (openai.is_choices_chunk, openai.chat_stream),
    (langchain.is_message, langchain.stream),
    (gemini.is_response, gemini.stream),
)
_SNIFFED_CHUNKS = 8  # leading pings/unknown events a stream may start with


def response_reader(value: Any) -> Reader | None:
    """The reader for a single response ``value``, or None for an unknown shape."""
    if isinstance(value, str | bytes | int | float | bool) or value is None:
        return None
    for matches, reader in RESPONSE_READERS:
        if matches(value):
            return reader
    return None


def stream_reader(chunks: Sequence[Any]) -> StreamReader | None:
    """The reader for a list of streamed ``chunks``, or None for an unknown stream."""
    for chunk in chunks[:_SNIFFED_CHUNKS]:
        for matches, reader in STREAM_READERS:
            if matches(chunk):
                return reader
    return None


def _read(value: Any) -> LLMInfo | None:
    if not isinstance(value, list | tuple):
        reader = response_reader(value)
        return reader(value) if reader is not None else None
    if not value or all(isinstance(c, str) for c in value):
        return None
    chunks = [c for c in value if c is not None and not isinstance(c, str)]
    stream = stream_reader(chunks)
    return stream(chunks) if stream is not None else None


def extract(value: Any) -> LLMInfo | None:
    """Model, provider, usage, output messages, finish reasons and response id of an
    LLM response, or ``None`` when ``value`` is not a response Spyglass recognises.

    ``value`` may be a dict, an SDK object (attribute access), or a list/tuple of
    streamed chunks or events. The provider is inferred from the model family when it
    names one, else from the response format ("openai" for OpenAI-shaped responses).
    Never raises.
    """
    try:
        info = _read(value)
        if info is not None:
            # The reader set the wire format's provider; the model name is more precise.
            info.provider = infer_provider(info.model, default=info.provider)
        return info
    except Exception:
        return None
