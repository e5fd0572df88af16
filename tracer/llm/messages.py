"""What an LLM call's request and reply say, as GenAI chat messages.

Reads a call's bound inputs the way SDKs spell them (OpenAI, Anthropic, Gemini,
Bedrock, LangChain; parameters nested in ``kwargs``/``config``/... too): request
parameters, the requested model, the input messages and tool schemas; and turns a
reply into output messages and the text tiktoken counts. ``to_json`` caps huge strings
and summarises inline base64 before messages become span attributes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from common import attributes as A
from tracer.llm.usage import LLMInfo, plain

__all__ = ["AttributeValue", "input_messages", "output_messages", "output_text",
           "read_input_messages", "request_model", "request_params", "string_inputs",
           "text_of", "to_json", "tool_definitions"]

AttributeValue = (
    str | bool | int | float | Sequence[str] | Sequence[bool] | Sequence[int] | Sequence[float]
)

MAX_STRING_CHARS = 32_000  # per string inside message JSON; whole prompts stay countable
MAX_DATA_URL_CHARS = 256  # inline base64 images are summarised, never stored

# Request parameters: the names SDKs use -> the attribute and the type it must have.
_PARAMS: dict[str, tuple[str, type]] = {
    "temperature": (A.GEN_AI_REQUEST_TEMPERATURE, float),
    "max_tokens": (A.GEN_AI_REQUEST_MAX_TOKENS, int),
    "max_completion_tokens": (A.GEN_AI_REQUEST_MAX_TOKENS, int),
    "max_output_tokens": (A.GEN_AI_REQUEST_MAX_TOKENS, int),
    "maxOutputTokens": (A.GEN_AI_REQUEST_MAX_TOKENS, int),
    "maxTokens": (A.GEN_AI_REQUEST_MAX_TOKENS, int),
    "max_new_tokens": (A.GEN_AI_REQUEST_MAX_TOKENS, int),
    "top_p": (A.GEN_AI_REQUEST_TOP_P, float),
    "topP": (A.GEN_AI_REQUEST_TOP_P, float),
    "top_k": (A.GEN_AI_REQUEST_TOP_K, float),
    "topK": (A.GEN_AI_REQUEST_TOP_K, float),
    "frequency_penalty": (A.GEN_AI_REQUEST_FREQUENCY_PENALTY, float),
    "presence_penalty": (A.GEN_AI_REQUEST_PRESENCE_PENALTY, float),
    "seed": (A.GEN_AI_REQUEST_SEED, int),
    "stop": (A.GEN_AI_REQUEST_STOP_SEQUENCES, list),
    "stop_sequences": (A.GEN_AI_REQUEST_STOP_SEQUENCES, list),
    "stopSequences": (A.GEN_AI_REQUEST_STOP_SEQUENCES, list),
}
# Where wrappers commonly nest the provider's parameters inside their own arguments.
_NESTED_PARAMS = ("kwargs", "params", "options", "config", "generation_config",
                  "generationConfig", "inferenceConfig", "request", "body")
# LangChain messages carry a ``type`` instead of a role.
_LANGCHAIN_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool",
                    "AIMessageChunk": "assistant", "HumanMessageChunk": "user"}


# ------------------------------------------------------------------------- inputs


def param_sources(inputs: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    sources: list[Mapping[str, Any]] = [inputs]
    for key in _NESTED_PARAMS:
        nested = inputs.get(key)
        if isinstance(nested, Mapping):
            sources.append(nested)
        elif nested is not None and not isinstance(nested, str | int | float | list | tuple):
            converted = plain(nested)
            if isinstance(converted, Mapping):
                sources.append(converted)
    return sources


def request_params(inputs: Mapping[str, Any]) -> dict[str, AttributeValue]:
    out: dict[str, AttributeValue] = {}
    for source in param_sources(inputs):
        for key, (attr, kind) in _PARAMS.items():
            value = source.get(key)
            if value is None or attr in out or isinstance(value, bool):
                continue
            if kind is float and isinstance(value, int | float):
                out[attr] = float(value)
            elif kind is int and isinstance(value, int):
                out[attr] = value
            elif kind is list:
                stops = [value] if isinstance(value, str) else value
                if isinstance(stops, list | tuple) and stops and all(
                        isinstance(s, str) for s in stops):
                    out[attr] = list(stops)
    return out


def request_model(inputs: Mapping[str, Any]) -> str | None:
    for source in param_sources(inputs):
        for key in ("model", "modelId", "model_id", "model_name"):
            model = source.get(key)
            if isinstance(model, str) and model:
                return model
    return None


def text_of(content: Any) -> str:
    """Plain text of a message content value (string, or a list of parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, Mapping):
        text = content.get("text")
        return text if isinstance(text, str) else ""
    if isinstance(content, list):
        return "".join(text_of(part) for part in content)
    return ""


def as_message(value: Any, default_role: str = "user") -> dict[str, Any]:
    message = plain(value)
    if isinstance(message, str):
        return {"role": default_role, "content": message}
    if not isinstance(message, dict):
        return {"role": default_role, "content": message}
    if "role" not in message and "parts" in message:  # Gemini content
        message = {"role": "user", "content": text_of(message["parts"])}
    elif "parts" in message and "content" not in message:
        parts = message.pop("parts")
        message["content"] = text_of(parts)
    if "role" not in message and message.get("type") == "function_call":
        message = {"role": "assistant", "content": None, "tool_calls": [{
            "id": message.get("call_id"), "type": "function",
            "function": {"name": message.get("name"), "arguments": message.get("arguments")}}]}
    if "role" not in message and message.get("type") == "function_call_output":
        message = {"role": "tool", "tool_call_id": message.get("call_id"),
                   "content": message.get("output")}
    # A "type" may be any JSON value (a dict is unhashable): only a string names a role.
    if "role" not in message and isinstance(message.get("type"), str) \
            and message["type"] in _LANGCHAIN_ROLES:
        message["role"] = _LANGCHAIN_ROLES[message["type"]]
    if message.get("role") == "model":
        message["role"] = "assistant"
    message.setdefault("role", default_role)
    return message


def input_messages(inputs: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Chat messages found in a call's inputs, system prompt first.

    Read from ``messages`` (OpenAI/Anthropic/Mistral), ``system`` and ``instructions``
    (Anthropic system prompt, Responses API instructions), ``contents`` (Gemini), and
    ``prompt`` / ``input`` (completions, Responses API, embeddings; a string or list).
    """
    return read_input_messages(inputs)[0]


def read_input_messages(inputs: Mapping[str, Any]) -> tuple[list[dict[str, Any]], bool]:
    """(messages, whether they came as chat messages rather than a plain prompt)."""
    found: list[dict[str, Any]] = []
    have_system = False
    for source in param_sources(inputs):
        for key in ("system", "instructions", "system_instruction"):
            system = source.get(key)
            if system and not have_system:
                converted = plain(system)
                if isinstance(converted, Mapping) and "parts" in converted:
                    converted = converted["parts"]
                found.append({"role": "system", "content": text_of(converted)})
                have_system = True
        for key in ("messages", "contents", "prompt", "input"):
            value = source.get(key)
            if value is None:
                continue
            if isinstance(value, str):
                found.append({"role": "user", "content": value})
            elif isinstance(value, Mapping):
                found.append(as_message(value))
            else:
                converted = plain(value)
                if not isinstance(converted, list):
                    continue
                found.extend(as_message(item) for item in converted)
                # A list of strings is a batch of prompts; a list of items is a conversation.
                if key in ("prompt", "input"):
                    return found, any(isinstance(item, dict) for item in converted)
            return found, key in ("messages", "contents") or isinstance(value, Mapping)
    return found, bool(found)


def tool_definitions(inputs: Mapping[str, Any]) -> str | None:
    """The request's tool/function schemas as compact JSON, for counting."""
    for source in param_sources(inputs):
        for key in ("tools", "functions"):
            tools = source.get(key)
            if tools:
                return json.dumps(plain(tools), separators=(",", ":"), default=str)
    return None


def string_inputs(inputs: Mapping[str, Any]) -> str:
    return "\n".join(v for v in inputs.values() if isinstance(v, str))


# ------------------------------------------------------------------------- output


def output_messages(info: LLMInfo | None, output: Any) -> list[dict[str, Any]]:
    if info is not None:
        return info.output_messages
    if isinstance(output, str):
        return [{"role": "assistant", "content": output}]
    if isinstance(output, Mapping) and "role" in output and "content" in output:
        return [as_message(output, "assistant")]
    return []


def output_text(messages: list[dict[str, Any]]) -> str:
    parts: list[str] = []
    for message in messages:
        parts.append(text_of(message.get("content")))
        for key in ("reasoning", "refusal"):
            if isinstance(message.get(key), str):
                parts.append(message[key])
        for call in message.get("tool_calls") or ():
            fn = call.get("function") or {}
            parts.append(str(fn.get("name") or ""))
            args = fn.get("arguments")
            parts.append(args if isinstance(args, str) else json.dumps(args, default=str))
    return "".join(parts)


def _capped(value: Any) -> Any:
    """``value`` with huge strings shortened and inline base64 data URLs summarised."""
    if isinstance(value, str):
        if value.startswith("data:") and len(value) > MAX_DATA_URL_CHARS:
            head = value.split(",", 1)[0]
            return f"{head},…[{len(value)} chars omitted]"
        if len(value) > MAX_STRING_CHARS:
            return value[:MAX_STRING_CHARS] + f"…[truncated {len(value) - MAX_STRING_CHARS} chars]"
        return value
    if isinstance(value, dict):
        return {k: _capped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_capped(v) for v in value]
    return value


def to_json(value: Any) -> str:
    return json.dumps(_capped(value), ensure_ascii=False, default=str)
