"""Guardrails: block / redact / flag, fail-open / fail-closed, timeouts, ordering, async."""

from __future__ import annotations

import asyncio

import pytest
from stubs.openai_server import OpenAIStub, Scripted, chat_completion

from scorers import (
    Guardrail,
    GuardrailBlocked,
    ScorerError,
    llm_judge,
    pii,
    regex,
    scorer,
    secrets,
)

LEAK = "Sure! Email jane.roe@example.com, key sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z."
CLEAN = "The invoice was paid on time."


def toxicity(stub: OpenAIStub, **kw):
    kw.setdefault("cache", False)
    kw.setdefault("backoff_s", 0.01)
    return llm_judge.toxicity(base_url=stub.base_url, model="guard-judge", **kw)


def kind_reply(stub: OpenAIStub, toxic: bool = False, delay_s: float = 0.0) -> None:
    stub.chat_responder = lambda body: Scripted(
        200, chat_completion(f'{{"reasoning": "r", "score": {str(toxic).lower()}}}'), delay_s=delay_s)


def test_clean_text_passes_untouched(openai_stub: OpenAIStub) -> None:
    kind_reply(openai_stub)
    result = Guardrail([pii(), secrets(), toxicity(openai_stub)]).check(CLEAN)
    assert (result.passed, result.action, result.blocked, result.text) == (True, None, False, CLEAN)
    assert [s.name for s in result.scores] == ["pii", "secrets", "toxicity"]
    assert result.failed == [] and result.errors == [] and result.skipped == []
    assert len(openai_stub.chat_requests()) == 1


def test_block_runs_rules_first_and_skips_the_judge(openai_stub: OpenAIStub) -> None:
    kind_reply(openai_stub)
    guard = Guardrail([toxicity(openai_stub), pii(), secrets()], on_fail="block")
    result = guard.check(LEAK)
    assert (result.passed, result.action, result.blocked, result.text) == (False, "block", True, None)
    assert [s.name for s in result.failed] == ["pii", "secrets"]
    assert result.skipped == ["toxicity"]
    assert openai_stub.chat_requests() == []  # the slow check never ran
    assert result.original_text == LEAK
    assert result.summary() == {"guardrail": "guardrail", "passed": False, "action": "block",
                                "failed": ["pii", "secrets"], "errors": [], "skipped": ["toxicity"]}


def test_raise_on_block(openai_stub: OpenAIStub) -> None:
    with pytest.raises(GuardrailBlocked, match="blocked by guardrail 'out': pii") as err:
        Guardrail([pii()], name="out").check("mail a@b.io", raise_on_block=True)
    assert err.value.result.blocked


def test_redact_replaces_findings_and_the_judge_sees_only_redacted_text(openai_stub: OpenAIStub) -> None:
    kind_reply(openai_stub)
    guard = Guardrail([pii(), secrets(), toxicity(openai_stub)], on_fail="redact")
    result = guard.check(LEAK)
    assert result.action == "redact" and not result.blocked and result.passed is False
    assert result.text == "Sure! Email [EMAIL], key [OPENAI_KEY]."
    assert result.redacted_text == result.text
    (req,) = openai_stub.chat_requests()
    prompt = req.body["messages"][1]["content"]
    assert "[EMAIL]" in prompt and "jane.roe" not in prompt and "sk-proj" not in prompt
    custom = Guardrail([pii()], on_fail="redact", redact_template="<{entity}>").check("x a@b.io")
    assert custom.text == "x <EMAIL>"


def test_redact_escalates_to_block_when_a_failure_cannot_be_redacted(openai_stub: OpenAIStub) -> None:
    kind_reply(openai_stub, toxic=True)
    result = Guardrail([pii(), toxicity(openai_stub)], on_fail="redact").check("You idiot, a@b.io")
    assert result.action == "block" and result.text is None
    assert [s.name for s in result.failed] == ["pii", "toxicity"]


def test_flag_records_but_changes_nothing_and_runs_everything(openai_stub: OpenAIStub) -> None:
    kind_reply(openai_stub, toxic=True)
    result = Guardrail([pii(), toxicity(openai_stub)], on_fail="flag").check(LEAK)
    assert (result.action, result.text, result.blocked) == ("flag", LEAK, False)
    assert [s.name for s in result.failed] == ["pii", "toxicity"]
    assert result.skipped == []


@pytest.mark.parametrize(("fail_open", "blocked"), [(True, False), (False, True)])
def test_scorer_errors_fail_open_or_closed(openai_stub: OpenAIStub, fail_open: bool, blocked: bool) -> None:
    openai_stub.error(500, "judge down")
    guard = Guardrail([pii(), toxicity(openai_stub, max_retries=0)], fail_open=fail_open)
    result = guard.check(CLEAN)
    assert result.blocked is blocked and result.passed is fail_open
    (error,) = result.errors
    assert error.startswith("toxicity: ProviderError:") and "judge down" in error


@pytest.mark.parametrize(("fail_open", "blocked"), [(True, False), (False, True)])
def test_timeouts_fail_open_or_closed(openai_stub: OpenAIStub, fail_open: bool, blocked: bool) -> None:
    openai_stub.hang(10.0)
    guard = Guardrail([toxicity(openai_stub, max_retries=0)], fail_open=fail_open, timeout_s=0.3)
    result = guard.check(CLEAN)
    assert result.blocked is blocked
    assert result.errors == ["toxicity: TimeoutError: timed out after 0.3s"]


def test_a_raising_rule_scorer_is_an_error_not_a_crash() -> None:
    @scorer
    def broken(output: str) -> bool:
        raise ValueError("bad rule")

    assert Guardrail([broken, pii()]).check(CLEAN).errors == ["broken: ValueError: bad rule"]
    assert Guardrail([broken, pii()], fail_open=False).check(CLEAN).blocked


def test_extra_fields_reach_the_scorers(openai_stub: OpenAIStub) -> None:
    openai_stub.reply('{"reasoning": "supported", "score": true}')
    faithful = llm_judge.faithfulness(base_url=openai_stub.base_url, model="m", cache=False)
    result = Guardrail([faithful]).check("It opens at 9.", context=["The shop opens at 9."])
    assert result.passed
    assert "The shop opens at 9." in openai_stub.chat_requests()[0].body["messages"][1]["content"]


def test_deny_regex_as_a_guardrail() -> None:
    guard = Guardrail([regex(r"(?i)project\s+titan", must_match=False, label="CODENAME")], on_fail="redact")
    assert guard.check("Status of Project Titan?").text == "Status of [CODENAME]?"


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(ScorerError, match="on_fail must be one of"):
        Guardrail([pii()], on_fail="drop")
    with pytest.raises(ScorerError, match="at least one scorer"):
        Guardrail([])
    with pytest.raises(ScorerError, match="call the factory"):
        Guardrail([pii])  # type: ignore[list-item]
    with pytest.raises(ScorerError, match="timeout_s must be positive"):
        Guardrail([pii()], timeout_s=0)


async def test_acheck_runs_slow_scorers_concurrently(openai_stub: OpenAIStub) -> None:
    kind_reply(openai_stub, delay_s=0.2)
    guard = Guardrail([pii(), toxicity(openai_stub), toxicity(openai_stub).with_name("toxicity2")])
    result = await guard.acheck(CLEAN)
    assert result.passed and [s.name for s in result.scores] == ["pii", "toxicity", "toxicity2"]
    assert openai_stub.max_in_flight == 2


async def test_acheck_block_redact_and_timeout(openai_stub: OpenAIStub) -> None:
    kind_reply(openai_stub)
    blocked = await Guardrail([pii(), toxicity(openai_stub)]).acheck(LEAK)
    assert blocked.blocked and blocked.skipped == ["toxicity"]
    redacted = await Guardrail([pii(), secrets()], on_fail="redact").acheck(LEAK)
    assert redacted.text == "Sure! Email [EMAIL], key [OPENAI_KEY]."
    openai_stub.chat_responder = None
    openai_stub.hang(10.0)
    closed = Guardrail([toxicity(openai_stub, max_retries=0)], fail_open=False, timeout_s=0.3)
    result = await closed.acheck(CLEAN)
    assert result.blocked and result.errors == ["toxicity: TimeoutError: timed out after 0.3s"]
    with pytest.raises(GuardrailBlocked):
        await Guardrail([pii()]).acheck(LEAK, raise_on_block=True)


def test_many_concurrent_sync_checks_are_independent() -> None:
    guard = Guardrail([pii(), secrets()], on_fail="redact")

    async def main() -> list:
        texts = [f"user{i}@example.com says hi" if i % 2 else f"plain {i}" for i in range(20)]
        return await asyncio.gather(*(asyncio.to_thread(guard.check, t) for t in texts))

    results = asyncio.run(main())
    assert [r.text for r in results] == [
        "[EMAIL] says hi" if i % 2 else f"plain {i}" for i in range(20)]
