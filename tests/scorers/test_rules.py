"""Rule scorers: matching, regex, JSON, length, refusal, banned words and topics."""

from __future__ import annotations

import pytest

from scorers import (
    ScorerError,
    banned_words,
    contains,
    contains_all,
    contains_any,
    ends_with,
    exact_match,
    json_schema,
    length,
    redact,
    refusal,
    regex,
    starts_with,
    topics,
    valid_json,
)


@pytest.mark.parametrize(
    ("options", "output", "expected", "match"),
    [
        ({}, "Paris", "Paris", True),
        ({}, "Paris", "paris", False),
        ({"case_sensitive": False}, "PARIS", "paris", True),
        ({}, "  Paris\n", "Paris", True),
        ({"strip": False}, " Paris", "Paris", False),
        ({}, "New  York", "New York", False),
        ({"collapse_whitespace": True}, "New \t York", "New York", True),
        ({}, "Paris.", "Paris", False),
        ({"ignore_punctuation": True}, "Paris!", "Paris", True),
        ({"unicode_nfkc": True}, "ﬁne", "fine", True),
        ({}, "b", ["a", "b"], True),
        ({}, "c", ["a", "b"], False),
    ],
)
def test_exact_match_normalization(options: dict, output: str, expected: object, match: bool) -> None:
    score = exact_match(**options).score(output=output, expected=expected)
    assert score.value is match and score.passed is match


def test_contains_family() -> None:
    assert contains("cat").score(output="a cat sat").value is True
    assert contains("Cat").score(output="a cat sat").value is False
    assert contains("Cat", case_sensitive=False).score(output="a cat sat").value is True
    assert contains().score(output="the answer is 42", expected="42").value is True
    any_ = contains_any(["dog", "cat"]).score(output="a cat")
    assert any_.value is True and any_.metadata["found"] == ["cat"]
    assert contains_any(["dog", "cow"]).score(output="a cat").value is False
    all_ = contains_all(["a", "cat", "dog"]).score(output="a cat")
    assert all_.value is False and all_.metadata["missing"] == ["dog"] and "dog" in all_.reason
    assert contains_all().score(output="x y z", expected=["x", "z"]).value is True
    with pytest.raises(ScorerError, match="expected"):
        contains().score(output="x")


def test_regex_match_and_deny_modes_with_spans() -> None:
    assert regex(r"\d{3}").score(output="call 555").value is True
    assert regex(r"\d{3}").score(output="no digits").value is False
    assert regex(r"\d+", fullmatch=True).score(output="123").value is True
    assert regex(r"\d+", fullmatch=True).score(output="123a").value is False
    deny = regex(r"(?i)project\s+titan", must_match=False, label="CODENAME")
    ok = deny.score(output="nothing secret")
    assert ok.passed is True and ok.metadata["spans"] == []
    bad = deny.score(output="about Project  Titan and project titan")
    assert bad.passed is False
    assert [(s["start"], s["end"], s["entity"]) for s in bad.metadata["spans"]] == [
        (6, 20, "CODENAME"), (25, 38, "CODENAME")]
    assert redact("about Project  Titan and project titan", bad.metadata["spans"]) == (
        "about [CODENAME] and [CODENAME]")
    with pytest.raises(ScorerError, match="does not compile"):
        regex("(unclosed")


def test_starts_and_ends_with() -> None:
    assert starts_with("Answer:").score(output="  Answer: 4").value is True
    assert starts_with("answer:").score(output="Answer: 4").value is False
    assert starts_with("answer:", case_sensitive=False).score(output="Answer: 4").value is True
    assert ends_with(".").score(output="Done.\n").value is True
    assert ends_with(["!", "?"]).score(output="Done.").value is False
    assert ends_with().score(output="ok END", expected="END").value is True


def test_valid_json() -> None:
    assert valid_json().score(output='{"a": 1}').value is True
    bad = valid_json().score(output='{"a": 1,}')
    assert bad.value is False and "invalid JSON" in bad.reason and "line 1" in bad.reason
    assert valid_json().score(output='```json\n{"a": 1}\n```').value is False
    assert valid_json(allow_fences=True).score(output='```json\n{"a": 1}\n```').value is True
    assert valid_json(type="array").score(output='{"a": 1}').value is False
    assert valid_json(type="array").score(output="[1]").value is True
    with pytest.raises(ScorerError, match="type must be"):
        valid_json(type="thing")


SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer", "minimum": 0},
        "email": {"type": "string", "format": "email"},
    },
    "required": ["name", "age"],
    "additionalProperties": False,
}


def test_json_schema_conformance_and_error_paths() -> None:
    s = json_schema(SCHEMA)
    assert s.score(output='{"name": "Ann", "age": 3}').value is True
    assert s.score(output={"name": "Ann", "age": 3}).value is True  # already parsed
    bad = s.score(output='{"name": "Ann", "age": -1, "x": 1}')
    assert bad.value is False
    assert any(e.startswith("age:") for e in bad.metadata["errors"])
    assert any("Additional properties" in e for e in bad.metadata["errors"])
    missing = s.score(output='{"name": "Ann"}')
    assert "'age' is a required property" in missing.reason
    assert s.score(output="not json").reason.startswith("invalid JSON")
    assert s.score(output='{"name": "A", "age": 1, "email": "nope"}').value is False
    with pytest.raises(ScorerError, match="schema itself is invalid"):
        json_schema({"type": "no-such-type"})


def test_length_chars_words_and_bounds() -> None:
    s = length(min=3, max=5)
    assert s.score(output="abcd").value == 4.0 and s.score(output="abcd").passed is True
    too_long = s.score(output="abcdef")
    assert too_long.passed is False and "6 chars > max 5" in too_long.reason
    assert length(unit="words", max=2).score(output="one two three").passed is False
    assert length().score(output="xyz").passed is None
    summary = s.summarize([s.score(output=x) for x in ("ab", "abcd", "abcdef")])
    assert (summary["min"], summary["max"], summary["pass_rate"]) == (2.0, 6.0, pytest.approx(1 / 3))
    with pytest.raises(ScorerError, match="unit"):
        length(unit="bytes")
    with pytest.raises(ScorerError, match="greater than max"):
        length(min=5, max=1)


def test_length_in_tokens_uses_the_tracer_tokenizer() -> None:
    tokens = pytest.importorskip("tracer.llm.tokens")
    text = "Tokenizers split text into subword units, usually."
    s = length(unit="tokens", model="gpt-4o", max=100)
    assert s.score(output=text).value == float(tokens.count_tokens(text, "gpt-4o"))
    assert s.score(output=text).value < len(text.split()) * 3


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        ("I'm sorry, but I can't help with that request.", True),
        ("I’m sorry, but I cannot assist with creating malware.", True),
        ("As an AI language model, I don't have opinions.", True),
        ("I must decline to answer that.", True),
        ("I cannot provide medical advice.", True),
        ("The capital of France is Paris.", False),
        ("Sorry for the delay! Here is the summary you asked for.", False),
        ("You can't divide by zero, so the limit is undefined.", False),
    ],
)
def test_refusal_detection(text: str, refused: bool) -> None:
    score = refusal().score(output=text)
    assert score.value is refused
    assert score.passed is (not refused)
    assert refusal(expect_refusal=True).score(output=text).passed is refused


def test_banned_words_whole_word_case_insensitive_with_spans() -> None:
    s = banned_words(["darn", "heck"])
    ok = s.score(output="Darnell checked the deck")  # substrings of other words are fine
    assert ok.value is False and ok.passed is True
    hit = s.score(output="Well, DARN it. What the heck?")
    assert hit.value is True and hit.passed is False
    assert redact("Well, DARN it. What the heck?", hit.metadata["spans"]) == (
        "Well, [BANNED] it. What the [BANNED]?")
    assert banned_words(["darn"], whole_word=False).score(output="Darnell").value is True
    assert banned_words(["Darn"], case_sensitive=True).score(output="darn").value is False
    with pytest.raises(ScorerError):
        banned_words([])


def test_topics_report_which_topic_was_hit() -> None:
    s = topics({"politics": ["election", "senator"], "medical": ["diagnosis", "prescription"]})
    hit = s.score(output="The senator asked about my prescription.")
    assert hit.name == "topics" and hit.passed is False
    assert hit.metadata["found"] == ["medical", "politics"]
    assert {sp["entity"] for sp in hit.metadata["spans"]} == {"POLITICS", "MEDICAL"}
    assert s.score(output="The weather is nice.").passed is True
