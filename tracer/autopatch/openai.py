"""OpenAI SDK (``openai`` >= 1): chat completions, the Responses API, legacy completions
and embeddings, sync and async, streaming included."""

from __future__ import annotations

# (module, class, method, span name, op kind, record the output)
TARGETS = [
    ("openai.resources.chat.completions.completions", "Completions", "create",
     "openai.chat.completions.create", "llm", False),
    ("openai.resources.chat.completions.completions", "AsyncCompletions", "create",
     "openai.chat.completions.create", "llm", False),
    ("openai.resources.responses.responses", "Responses", "create",
     "openai.responses.create", "llm", False),
    ("openai.resources.responses.responses", "AsyncResponses", "create",
     "openai.responses.create", "llm", False),
    ("openai.resources.completions", "Completions", "create",
     "openai.completions.create", "llm", False),
    ("openai.resources.completions", "AsyncCompletions", "create",
     "openai.completions.create", "llm", False),
    # Vectors are not worth storing as the output: usage and the input texts are kept.
    ("openai.resources.embeddings", "Embeddings", "create",
     "openai.embeddings.create", "embedding", False),
    ("openai.resources.embeddings", "AsyncEmbeddings", "create",
     "openai.embeddings.create", "embedding", False),
]
