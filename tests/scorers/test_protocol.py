"""The scorer protocol: Score verdicts, field binding, column maps, @scorer, summaries."""

from __future__ import annotations

import asyncio

import pytest

from scorers import (
    MissingFieldError,
    Score,
    ScorerError,
    contains,
    edit_distance,
    exact_match,
    scorer,
    token_f1,
)


def test_score_passed_follows_bool_values_and_ints_become_floats() -> None:
    assert Score("x", True).passed is True
    assert Score("x", False).passed is False
    assert Score("x", 0.7).passed is None
    assert Score("x", "label").passed is None
    s = Score("x", 3)
    assert s.value == 3.0 and isinstance(s.value, float)
    assert Score("x", True, passed=False).passed is False  # explicit verdict wins


def test_threshold_gives_float_scores_a_verdict_in_the_right_direction() -> None:
    hi = token_f1(threshold=0.5)
    assert hi.score(output="the red car", expected="red car").passed is True
    assert hi.score(output="blue boat", expected="red car").passed is False
    assert token_f1().score(output="a", expected="a").passed is None
    lo = edit_distance(threshold=0.2)  # lower is better for distances
    assert lo.score(output="kitten", expected="kitten").passed is True
    assert lo.score(output="kitten", expected="sitting").passed is False


def test_fields_are_bound_by_name_and_extra_fields_ignored() -> None:
    s = exact_match()
    result = s.score(output="a", expected="a", input="q", context="c", row_id=7)
    assert result.value is True and result.name == "exact_match"


def test_missing_field_error_names_the_field_and_the_mapped_column() -> None:
    with pytest.raises(MissingFieldError) as err:
        exact_match().score(output="a")
    assert "'expected'" in str(err.value) and "exact_match" in str(err.value)
    with pytest.raises(MissingFieldError) as err:
        exact_match(column_map={"output": "answer"}).score(output="a", expected="a")
    assert "mapped from column 'answer'" in str(err.value)


def test_column_map_and_with_columns_read_other_columns() -> None:
    s = exact_match(column_map={"output": "answer"})
    assert s.score(answer="Paris", expected="Paris").value is True
    t = exact_match().with_columns(output="answer", expected="gold")
    assert t.score({"answer": "x", "gold": "x"}).value is True
    assert t.score({"answer": "x", "gold": "y"}).value is False
    # the original is untouched
    assert exact_match().column_map == {}


def test_positional_string_is_output_and_positional_mapping_is_fields() -> None:
    c = contains("cat")
    assert c.score("a cat").value is True
    assert c("a dog").value is False
    assert c.score({"output": "cat"}).value is True
    with pytest.raises(TypeError):
        c.score("a", "b")


def test_scorer_decorator_binds_parameters_and_converts_results() -> None:
    @scorer
    def mentions(output: str, keyword: str = "paris") -> bool:
        """Mentions a keyword."""
        return keyword in output.lower()

    assert mentions.name == "mentions"
    assert mentions.required == ("output",) and mentions.optional == ("keyword",)
    assert mentions.score(output="Paris!").value is True
    assert mentions.score(output="Paris!", keyword="rome").value is False
    assert mentions.__doc__ == "Mentions a keyword."

    @scorer(name="ratio", threshold=0.5)
    def ratio(output: str, expected: str) -> tuple[float, str]:
        return len(output) / len(expected), "length ratio"

    r = ratio.score(output="ab", expected="abcd")
    assert (r.name, r.value, r.reason, r.passed) == ("ratio", 0.5, "length ratio", True)

    @scorer
    def labelled(output: str) -> dict:
        return {"value": "long" if len(output) > 3 else "short", "metadata": {"n": len(output)}}

    assert labelled.score(output="hello").value == "long"
    assert labelled.score(output="hello").metadata == {"n": 5}

    @scorer
    def full(output: str) -> Score:
        return Score("custom", 1.0, "r")

    assert full.score(output="x").name == "custom"


def test_scorer_decorator_with_kwargs_receives_every_field() -> None:
    @scorer
    def sees_all(output: str, **fields: object) -> bool:
        return fields.get("category") == "geo"

    assert sees_all.score(output="x", category="geo").value is True
    assert sees_all.score(output="x", category="math").value is False


def test_scorer_decorator_rejects_bad_return_types_with_a_clear_error() -> None:
    @scorer
    def bad(output: str) -> object:
        return [1, 2]

    with pytest.raises(ScorerError, match="returned list"):
        bad.score(output="x")


def test_async_function_scorer_works_sync_and_async() -> None:
    @scorer
    async def slow_len(output: str) -> float:
        await asyncio.sleep(0)
        return float(len(output))

    assert slow_len.is_async and not slow_len.cheap
    assert slow_len.score(output="abc").value == 3.0
    assert asyncio.run(slow_len.ascore(output="abcd")).value == 4.0


async def test_sync_call_of_async_scorer_inside_a_running_loop() -> None:
    @scorer
    async def echo(output: str) -> str:
        return output

    # A sync call from inside a loop must not fail with "asyncio.run() cannot be called".
    assert echo.score(output="hi").value == "hi"
    assert (await echo.ascore(output="yo")).value == "yo"


def test_default_summary_has_mean_pass_rate_and_labels() -> None:
    s = token_f1(threshold=0.5)
    scores = [s.score(output=o, expected="red car") for o in ("red car", "red", "blue")]
    summary = s.summarize(scores)
    assert summary["count"] == 3
    assert summary["mean"] == pytest.approx((1.0 + 2 / 3 + 0.0) / 3)
    assert summary["pass_rate"] == pytest.approx(2 / 3)

    @scorer
    def label(output: str) -> str:
        return output

    assert label.summarize([label.score(output=x) for x in "aab"])["labels"] == {"a": 2, "b": 1}


def test_custom_summarize_is_used() -> None:
    @scorer(summarize=lambda scores: {"n_true": sum(1 for s in scores if s.value)})
    def truthy(output: str) -> bool:
        return bool(output)

    assert truthy.summarize([truthy.score(output=x) for x in ("a", "", "b")]) == {"n_true": 2}


def test_with_name_copies() -> None:
    a = exact_match()
    b = a.with_name("strict")
    assert (a.name, b.name) == ("exact_match", "strict")
    assert b.score(output="x", expected="x").name == "strict"


async def test_a_sync_scorer_declared_slow_runs_off_the_event_loop() -> None:
    import threading

    seen: list[str] = []

    @scorer(cheap=False)
    def looks_up(output: str) -> bool:
        seen.append(threading.current_thread().name)
        return True

    assert not looks_up.cheap and not looks_up.is_async
    assert (await looks_up.ascore(output="x")).value is True
    assert seen and seen[0] != threading.current_thread().name
