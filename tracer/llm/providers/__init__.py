"""One reader module per LLM wire format; ``tracer.llm.usage`` picks among them.

- ``openai``: chat completions, legacy completions, Responses API, embeddings, and
  their streams (also every OpenAI-compatible server: Mistral, vLLM, Ollama, LiteLLM).
- ``anthropic``: Messages API responses and stream events.
- ``gemini``: ``generateContent`` responses and streamed chunks.
- ``langchain``: ``AIMessage`` / ``AIMessageChunk``.
- ``bedrock``: AWS Bedrock ``converse`` responses.

Each module offers ``is_*`` predicates (does a value have this shape?) and readers
that turn a value of that shape into a :class:`~tracer.llm.providers.base.LLMInfo`.
``base`` holds the result types and the tolerant field access every reader uses;
``names`` maps model names to provider names. Nothing here imports a provider SDK.
"""
