"""Messages and edge cases of scorers (issue 12): the judge configuration error names a
function that exists; ``redact`` never appends spans that fall outside the text."""

from __future__ import annotations

import pytest

import scorers.judges as llm_judge
from scorers.judges import JudgeConfigError
from scorers.rules.redact import redact


@pytest.fixture(autouse=True)
def no_judge_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SPYGLASS_JUDGE_BASE_URL", "SPYGLASS_JUDGE_MODEL", "SPYGLASS_JUDGE_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def _config_error(judge) -> str:
    with pytest.raises(JudgeConfigError) as info:
        judge.endpoint()
    return str(info.value)


def test_builtin_judge_error_suggests_its_own_factory() -> None:
    message = _config_error(llm_judge.toxicity())
    assert "llm_judge.toxicity(base_url=" in message


def test_rubric_judge_error_suggests_rubric_not_a_missing_factory() -> None:
    message = _config_error(llm_judge.rubric("Is it concise?", name="conciseness"))
    assert "llm_judge.conciseness(" not in message
    assert "llm_judge.rubric(" in message and "name='conciseness'" in message
    assert not hasattr(llm_judge, "conciseness")


def test_redact_ignores_spans_outside_the_text() -> None:
    text = "call 555-1234 now"
    spans = [{"start": 5, "end": 13, "entity": "PHONE"},
             {"start": 40, "end": 50, "entity": "EMAIL"},     # after the text
             {"start": -10, "end": -2, "entity": "NAME"},     # before it
             {"start": 15, "end": 99, "entity": "TAIL"}]      # runs past the end: clipped
    assert redact(text, spans) == "call [PHONE] n[TAIL]"
    assert redact("", spans) == ""
