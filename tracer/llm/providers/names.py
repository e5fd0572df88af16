"""Which provider a model name belongs to (GenAI semantic-convention provider names)."""

from __future__ import annotations

__all__ = ["infer_provider"]

# Model-name prefixes -> GenAI semantic-convention provider names.
_PROVIDER_BY_MODEL_PREFIX: tuple[tuple[str, str], ...] = (
    ("claude", "anthropic"),
    ("gpt-", "openai"),
    ("chatgpt", "openai"),
    ("o1", "openai"),
    ("o3", "openai"),
    ("o4", "openai"),
    ("text-embedding", "openai"),
    ("davinci", "openai"),
    ("babbage", "openai"),
    ("codex", "openai"),
    ("omni-moderation", "openai"),
    ("gemini", "gcp.gemini"),
    ("models/gemini", "gcp.gemini"),
    ("text-embedding-004", "gcp.gemini"),
    ("mistral", "mistral_ai"),
    ("open-mistral", "mistral_ai"),
    ("open-mixtral", "mistral_ai"),
    ("mixtral", "mistral_ai"),
    ("codestral", "mistral_ai"),
    ("ministral", "mistral_ai"),
    ("pixtral", "mistral_ai"),
    ("magistral", "mistral_ai"),
    ("devstral", "mistral_ai"),
    ("command", "cohere"),
    ("deepseek", "deepseek"),
    ("grok", "x_ai"),
)
# "openai/gpt-4o", "anthropic.claude-..." (Bedrock), "google/gemini-..." (routers)
_PROVIDER_BY_PREFIX_SEGMENT = {
    "openai": "openai",
    "azure": "azure.ai.openai",
    "anthropic": "anthropic",
    "google": "gcp.gemini",
    "gemini": "gcp.gemini",
    "vertex_ai": "gcp.vertex_ai",
    "mistral": "mistral_ai",
    "mistralai": "mistral_ai",
    "cohere": "cohere",
    "deepseek": "deepseek",
    "groq": "groq",
    "xai": "x_ai",
    "x-ai": "x_ai",
    "bedrock": "aws.bedrock",
}



def infer_provider(model: str | None, default: str | None = None) -> str | None:
    """GenAI provider name for ``model`` ("openai", "anthropic", "gcp.gemini", ...).

    An explicit prefix wins ("openai/gpt-4o", "anthropic.claude-3-haiku" on Bedrock),
    then the model family; ``default`` (the response's wire format) otherwise.
    """
    if not model:
        return default
    name = model.strip().lower()
    for sep in ("/", "."):
        head, found, _ = name.partition(sep)
        if found and head in _PROVIDER_BY_PREFIX_SEGMENT:
            return _PROVIDER_BY_PREFIX_SEGMENT[head]
    # Bedrock cross-region ids: "us.anthropic.claude-3-5-sonnet-..."
    parts = name.split(".")
    if len(parts) > 2 and parts[1] in _PROVIDER_BY_PREFIX_SEGMENT:
        return _PROVIDER_BY_PREFIX_SEGMENT[parts[1]]
    base = name.rsplit("/", 1)[-1]
    if base.startswith("ft:"):
        base = base[3:]
    for prefix, provider in _PROVIDER_BY_MODEL_PREFIX:
        if base.startswith(prefix):
            return provider
    return default
