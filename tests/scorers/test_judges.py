"""LLM judges against the local OpenAI-compatible stub: prompts, parsing, retries, cache."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import pytest
from stubs.openai_server import OpenAIStub, Scripted, chat_completion

from scorers import MissingFieldError, ScorerError, llm_judge
from scorers._http import ProviderError, retry_after_seconds
from scorers.judges import BUILTIN, JudgeConfigError, JudgeReplyError, extract_json_object


def judge(stub: OpenAIStub, factory=llm_judge.correctness, **kw):
    kw.setdefault("backoff_s", 0.01)
    return factory(base_url=stub.base_url, model="gpt-4o-mini", api_key="test-key", **kw)


QA = {"input": "What is the capital of France?", "output": "Paris.", "expected": "Paris"}


def test_no_endpoint_configured_is_a_clear_error() -> None:
    with pytest.raises(JudgeConfigError) as err:
        llm_judge.correctness().score(**QA)
    assert "SPYGLASS_JUDGE_BASE_URL" in str(err.value) and "SPYGLASS_JUDGE_MODEL" in str(err.value)


def test_settings_from_environment_and_request_shape(openai_stub: OpenAIStub,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPYGLASS_JUDGE_BASE_URL", openai_stub.base_url)
    monkeypatch.setenv("SPYGLASS_JUDGE_MODEL", "judge-model-x")
    monkeypatch.setenv("SPYGLASS_JUDGE_API_KEY", "env-key")
    openai_stub.reply('{"reasoning": "Matches the reference.", "score": true}', usage=(50, 9))
    score = llm_judge.correctness().score(**QA)
    assert (score.name, score.value, score.passed) == ("correctness", True, True)
    assert score.reason == "Matches the reference."
    assert score.metadata["usage"] == {"prompt_tokens": 50, "completion_tokens": 9, "total_tokens": 59}
    assert score.metadata["cached"] is False
    (req,) = openai_stub.chat_requests()
    assert req.path == "/v1/chat/completions"
    assert req.headers["authorization"] == "Bearer env-key"
    assert req.body["model"] == "judge-model-x"
    assert req.body["response_format"] == {"type": "json_object"}
    assert req.body["temperature"] == 0.0
    system, user = req.body["messages"]
    assert system["role"] == "system" and "JSON" in system["content"]
    assert "What is the capital of France?" in user["content"]
    assert "### REFERENCE ANSWER\nParis" in user["content"]
    assert "### RESPONSE TO EVALUATE\nParis." in user["content"]


@pytest.mark.parametrize(
    "reply",
    [
        '```json\n{"reasoning": "ok", "score": true}\n```',
        'Here is my evaluation:\n{"reasoning": "ok", "score": true}\nHope this helps!',
        '{"Reasoning": "ok", "Score": "yes"}',
        '{"reasoning": "ok", "score": 1}',
        'Sure. ```\n{"reason": "ok", "verdict": "pass"}\n``` done',
    ],
)
def test_robust_parsing_of_binary_replies(openai_stub: OpenAIStub, reply: str) -> None:
    openai_stub.reply(reply)
    score = judge(openai_stub).score(**QA)
    assert score.value is True and score.reason == "ok"


def test_scale_replies_and_out_of_range_scores(openai_stub: OpenAIStub) -> None:
    openai_stub.reply('{"reasoning": "clear", "score": 4}')
    s = judge(openai_stub, llm_judge.coherence, threshold=4).score(output="A clear text.")
    assert (s.value, s.passed) == (4.0, True)
    openai_stub.reply('{"reasoning": "x", "score": 9}')
    openai_stub.reply('{"reasoning": "x", "score": 9}')
    with pytest.raises(JudgeReplyError, match="outside the scale 1-5"):
        judge(openai_stub, llm_judge.fluency).score(output="Another text.")


def test_malformed_reply_is_asked_again_then_fails_naming_the_reply(openai_stub: OpenAIStub) -> None:
    openai_stub.reply("I think the answer is good.")
    openai_stub.reply('{"reasoning": "fine", "score": false}')
    assert judge(openai_stub).score(**QA).value is False
    assert len(openai_stub.chat_requests()) == 2

    openai_stub.reset()
    openai_stub.reply("I think the answer is good.")
    openai_stub.reply('{"reasoning": "no score here"}')
    with pytest.raises(JudgeReplyError) as err:
        judge(openai_stub).score(**{**QA, "output": "Lyon."})
    message = str(err.value)
    assert "malformed judge reply" in message and "no score here" in message
    assert "'score'" in message and "gpt-4o-mini" in message
    assert len(openai_stub.chat_requests()) == 2


def test_429_waits_for_retry_after_then_succeeds(openai_stub: OpenAIStub) -> None:
    openai_stub.error(429, "rate limited", headers={"Retry-After": "1"})
    openai_stub.reply('{"reasoning": "ok", "score": true}')
    assert judge(openai_stub).score(**QA).value is True
    first, second = openai_stub.chat_requests()
    assert second.received_at - first.received_at >= 0.9


def test_5xx_and_timeouts_are_retried_with_backoff(openai_stub: OpenAIStub) -> None:
    openai_stub.error(503, "overloaded")
    openai_stub.error(502, "bad gateway")
    openai_stub.hang(5.0)
    openai_stub.reply('{"reasoning": "ok", "score": true}')
    s = judge(openai_stub, timeout_s=0.3).score(**QA)
    assert s.value is True
    assert len(openai_stub.chat_requests()) == 4


def test_retries_exhausted_name_the_endpoint_and_status(openai_stub: OpenAIStub) -> None:
    for _ in range(3):
        openai_stub.error(500, "internal boom")
    with pytest.raises(ProviderError) as err:
        judge(openai_stub, max_retries=2).score(**QA)
    assert "HTTP 500 after 3 attempt(s): internal boom" in str(err.value)
    assert openai_stub.base_url in str(err.value)
    openai_stub.reset()
    openai_stub.hang(5.0)
    openai_stub.hang(5.0)
    with pytest.raises(ProviderError, match=r"timed out after 2 attempt\(s\)"):
        judge(openai_stub, max_retries=1, timeout_s=0.2).score(**QA)


def test_client_errors_are_not_retried(openai_stub: OpenAIStub) -> None:
    openai_stub.error(401, "invalid api key")
    with pytest.raises(ProviderError, match=r"HTTP 401 after 1 attempt.*invalid api key"):
        judge(openai_stub).score(**QA)
    assert len(openai_stub.chat_requests()) == 1


def test_json_mode_is_dropped_when_the_endpoint_rejects_it(openai_stub: OpenAIStub) -> None:
    openai_stub.error(400, "response_format json_object is not supported by this model")
    openai_stub.reply('{"reasoning": "ok", "score": true}')
    openai_stub.reply('{"reasoning": "ok", "score": true}')
    j = judge(openai_stub)
    assert j.score(**QA).value is True
    assert j.score(**{**QA, "output": "It is Paris"}).value is True
    bodies = [r.body for r in openai_stub.chat_requests()]
    assert "response_format" in bodies[0]
    assert "response_format" not in bodies[1] and "response_format" not in bodies[2]


def test_cache_makes_reruns_free_and_keys_on_inputs_and_model(openai_stub: OpenAIStub,
                                                             judge_cache_dir: Path) -> None:
    openai_stub.reply('{"reasoning": "ok", "score": true}', usage=(30, 4))
    first = judge(openai_stub).score(**QA)
    again = judge(openai_stub).score(**QA)  # a new scorer instance: a re-run
    assert len(openai_stub.chat_requests()) == 1
    assert (first.value, again.value, again.reason) == (True, True, "ok")
    assert (first.metadata["cached"], again.metadata["cached"]) == (False, True)
    assert again.metadata["usage"]["prompt_tokens"] == 30
    assert (judge_cache_dir / "judge-cache.sqlite").exists()

    openai_stub.reply('{"reasoning": "different", "score": false}')
    assert judge(openai_stub).score(**{**QA, "output": "Lyon."}).value is False
    openai_stub.reply('{"reasoning": "other model", "score": true}')
    other = llm_judge.correctness(base_url=openai_stub.base_url, model="other-model")
    assert other.score(**QA).reason == "other model"
    openai_stub.reply('{"reasoning": "uncached", "score": true}')
    assert judge(openai_stub, cache=False).score(**QA).metadata["cached"] is False
    assert len(openai_stub.chat_requests()) == 4


def test_malformed_replies_are_not_cached(openai_stub: OpenAIStub) -> None:
    openai_stub.reply("garbage")
    with pytest.raises(JudgeReplyError):
        judge(openai_stub, reparse_attempts=0).score(**QA)
    openai_stub.reply('{"reasoning": "ok", "score": true}')
    assert judge(openai_stub, reparse_attempts=0).score(**QA).value is True


async def test_async_judges_respect_the_concurrency_bound(openai_stub: OpenAIStub) -> None:
    openai_stub.chat_responder = lambda body: Scripted(
        200, chat_completion('{"reasoning": "ok", "score": 3}'), delay_s=0.15)
    j = judge(openai_stub, llm_judge.answer_relevance, max_concurrency=2, cache=False)
    scores = await asyncio.gather(*(j.ascore(input=f"q{i}", output=f"a{i}") for i in range(6)))
    assert [s.value for s in scores] == [3.0] * 6
    assert openai_stub.max_in_flight == 2
    assert len(openai_stub.chat_requests()) == 6


def test_sync_judges_from_threads_respect_the_concurrency_bound(openai_stub: OpenAIStub) -> None:
    openai_stub.chat_responder = lambda body: Scripted(
        200, chat_completion('{"reasoning": "ok", "score": false}'), delay_s=0.15)
    j = judge(openai_stub, llm_judge.toxicity, max_concurrency=3, cache=False)
    results: list = []
    threads = [threading.Thread(target=lambda i=i: results.append(j.score(output=f"text {i}")))
               for i in range(7)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 7 and all(r.value is False and r.passed is True for r in results)
    assert openai_stub.max_in_flight == 3


@pytest.mark.parametrize(
    ("factory", "fields", "needle"),
    [
        (llm_judge.faithfulness, {"output": "It is 5.", "context": ["Doc A says 5."]}, "[1] Doc A says 5."),
        (llm_judge.hallucination, {"output": "It is 5.", "context": "Doc A says 5."}, "hallucinat"),
        (llm_judge.answer_relevance, {"input": "Why?", "output": "Because."}, "addresses the QUESTION"),
        (llm_judge.context_relevance, {"input": "Why?", "context": ["c1", "c2"]}, "[2] c2"),
        (llm_judge.toxicity, {"output": "You are great."}, "toxic"),
        (llm_judge.bias, {"output": "All people differ."}, "bias"),
        (llm_judge.coherence, {"output": "First. Then."}, "coherence"),
        (llm_judge.fluency, {"output": "Fluent text."}, "fluency"),
    ],
)
def test_every_template_sends_its_fields(openai_stub: OpenAIStub, factory, fields: dict,
                                         needle: str) -> None:
    template = factory().template
    answer = "true" if template.kind == "binary" else "3"
    openai_stub.reply(f'{{"reasoning": "r", "score": {answer}}}')
    score = judge(openai_stub, factory).score(**fields)
    assert score.name == template.name
    if template.kind == "binary":
        assert score.passed is template.pass_when
    prompt = openai_stub.chat_requests()[-1].body["messages"][1]["content"]
    assert needle in prompt
    for value in fields.values():
        assert (value if isinstance(value, str) else value[0]) in prompt
    missing = dict(fields)
    missing.pop(template.required[0])
    with pytest.raises(MissingFieldError):
        judge(openai_stub, factory).score(**missing)


def test_rubric_g_eval_custom_criterion_and_scale(openai_stub: OpenAIStub) -> None:
    openai_stub.reply('{"reasoning": "mostly concise", "score": 7}')
    r = llm_judge.rubric(
        "Conciseness: the answer says what is needed and nothing more.",
        steps=["Find the core answer.", "Count unneeded sentences."],
        scale=(0, 10), fields=("input", "output"), name="conciseness", threshold=6,
        base_url=openai_stub.base_url, model="m",
    )
    s = r.score(input="What is 2+2?", output="4, because 2+2 is 4.")
    assert (s.name, s.value, s.passed) == ("conciseness", 7.0, True)
    prompt = openai_stub.chat_requests()[0].body["messages"][1]["content"]
    assert "Conciseness: the answer" in prompt and "2. Count unneeded sentences." in prompt
    assert "from 0 (worst) to 10 (best)" in prompt


def test_extract_json_object_and_retry_after_parsing() -> None:
    assert extract_json_object('x {"a": {"b": 1}} y {"c": 2}') == {"a": {"b": 1}}
    assert extract_json_object("no json") is None
    assert extract_json_object("[1, 2]") is None
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("0.5") == 0.5
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past
    assert retry_after_seconds("soon") is None
    assert set(BUILTIN) == {"correctness", "faithfulness", "hallucination", "answer_relevance",
                            "context_relevance", "toxicity", "bias", "coherence", "fluency"}


def test_cached_reply_bodies_are_replayed_through_the_same_parser(openai_stub: OpenAIStub,
                                                                  judge_cache_dir: Path) -> None:
    openai_stub.reply('```json\n{"reasoning": "fenced", "score": 2}\n```')
    j = judge(openai_stub, llm_judge.fluency)
    assert j.score(output="x").value == 2.0
    import sqlite3

    with sqlite3.connect(judge_cache_dir / "judge-cache.sqlite") as conn:
        (content,) = conn.execute("SELECT content FROM replies").fetchone()
    assert json.loads(content.strip("`json\n"))["reasoning"] == "fenced"
    assert judge(openai_stub, llm_judge.fluency).score(output="x").value == 2.0


def test_non_json_http_bodies_and_missing_choices_are_named(openai_stub: OpenAIStub) -> None:
    openai_stub.raw(200, b"<html>gateway page</html>")
    with pytest.raises(ProviderError, match="non-JSON body: '<html>gateway page</html>'"):
        judge(openai_stub).score(**QA)
    openai_stub.raw(200, b'{"object": "error", "message": "quota"}')
    openai_stub.raw(200, b'{"object": "error", "message": "quota"}')
    with pytest.raises(JudgeReplyError, match="empty reply"):
        judge(openai_stub).score(**QA)


@pytest.mark.parametrize(
    ("raw", "value"),
    [('"4/5"', 4.0), ('"4 out of 5"', 4.0), ('"3.5 (good)"', 3.5), ("2", 2.0), ("1.0", 1.0)],
)
def test_scale_scores_written_as_text_are_read(raw: str, value: float) -> None:
    from scorers.judges import parse_reply

    assert parse_reply(f'{{"reasoning": "r", "score": {raw}}}', BUILTIN["fluency"]) == (value, "r")


@pytest.mark.parametrize("raw", ['"good"', "true", "null", '"about five"'])
def test_non_numeric_scale_scores_are_malformed(raw: str) -> None:
    from scorers.judges import parse_reply

    with pytest.raises(JudgeReplyError):
        parse_reply(f'{{"score": {raw}}}', BUILTIN["fluency"])


def test_an_unwritable_default_cache_disables_caching_but_judging_works(
        openai_stub: OpenAIStub, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache directory should be")
    monkeypatch.setenv("SPYGLASS_JUDGE_CACHE", str(blocker / "cache"))
    openai_stub.reply('{"reasoning": "ok", "score": true}')
    assert judge(openai_stub).score(**QA).value is True
    with pytest.raises(ScorerError, match="cannot be opened"):
        judge(openai_stub, cache=blocker / "explicit").score(**QA)
