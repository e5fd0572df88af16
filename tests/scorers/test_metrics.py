"""Metric scorers give exactly the reference libraries' numbers on the same inputs."""

from __future__ import annotations

import pytest
import sacrebleu
from rapidfuzz.distance import Levenshtein
from rouge_score import rouge_scorer

from scorers import (
    bleu,
    chrf,
    edit_distance,
    edit_similarity,
    rouge,
    rouge_1,
    rouge_2,
    rouge_l,
    squad_exact_match,
    token_f1,
)
from scorers.metrics import normalize_answer

# (hypothesis, references): varied lengths, overlaps, punctuation, casing, multiple references.
PAIRS: list[tuple[str, list[str]]] = [
    ("The cat sat on the mat.", ["The cat is on the mat."]),
    ("the cat sat on the mat", ["The cat sat on the mat."]),
    ("There is a cat on the mat.", ["The cat is on the mat.", "A cat sits on the mat."]),
    ("Paris is the capital of France.", ["The capital of France is Paris."]),
    ("Completely unrelated words here", ["The quick brown fox jumps over the lazy dog"]),
    ("", ["Something"]),
    ("Machine translation has improved a lot in recent years, mostly thanks to neural models.",
     ["In recent years machine translation improved greatly, largely due to neural networks."]),
    ("Résumé naïve café — déjà vu!", ["Resume naive cafe, deja vu!"]),
    ("1, 2, 3, 4 and 5", ["1 2 3 4 5", "one two three four five", "12345"]),
    ("It rains.", ["It is raining.", "Rain falls."]),
]


def _streams(refs_per_row: list[list[str]]) -> list[list[str | None]]:
    width = max(len(r) for r in refs_per_row)
    return [[r[i] if i < len(r) else None for r in refs_per_row] for i in range(width)]


@pytest.mark.parametrize(("hyp", "refs"), PAIRS)
def test_sentence_bleu_and_chrf_equal_sacrebleu(hyp: str, refs: list[str]) -> None:
    assert bleu().score(output=hyp, expected=refs).value == sacrebleu.sentence_bleu(hyp, refs).score
    assert chrf().score(output=hyp, expected=refs).value == sacrebleu.sentence_chrf(hyp, refs).score
    plus = chrf(word_order=2).score(output=hyp, expected=refs)
    assert plus.name == "chrf++"
    assert plus.value == sacrebleu.sentence_chrf(hyp, refs, word_order=2).score
    lower = bleu(lowercase=True, tokenize="intl").score(output=hyp, expected=refs).value
    assert lower == sacrebleu.sentence_bleu(hyp, refs, lowercase=True, tokenize="intl").score


def test_single_reference_string_equals_list_of_one() -> None:
    hyp, ref = PAIRS[0][0], PAIRS[0][1][0]
    assert bleu().score(output=hyp, expected=ref).value == sacrebleu.sentence_bleu(hyp, [ref]).score


def test_corpus_bleu_and_chrf_in_summarize_equal_sacrebleu_and_differ_from_the_mean() -> None:
    hyps = [h for h, _ in PAIRS]
    refs = [r for _, r in PAIRS]
    b = bleu()
    summary = b.summarize([b.score(output=h, expected=r) for h, r in PAIRS])
    expected = sacrebleu.corpus_bleu(hyps, _streams(refs)).score
    assert summary["corpus"] == expected
    assert summary["mean"] != pytest.approx(expected)  # corpus BLEU is not the mean
    c = chrf()
    csum = c.summarize([c.score(output=h, expected=r) for h, r in PAIRS])
    assert csum["corpus"] == sacrebleu.corpus_chrf(hyps, _streams(refs)).score
    # single-reference corpus, the common case
    single = [(h, r[:1]) for h, r in PAIRS]
    s1 = b.summarize([b.score(output=h, expected=r) for h, r in single])
    assert s1["corpus"] == sacrebleu.corpus_bleu([h for h, _ in single], [[r[0] for _, r in single]]).score


@pytest.mark.parametrize("use_stemmer", [False, True])
@pytest.mark.parametrize(("hyp", "refs"), PAIRS)
def test_rouge_equals_rouge_score(hyp: str, refs: list[str], use_stemmer: bool) -> None:
    for rouge_type, factory in (("rouge1", rouge_1), ("rouge2", rouge_2), ("rougeL", rouge_l)):
        ref_scorer = rouge_scorer.RougeScorer([rouge_type], use_stemmer=use_stemmer)
        if len(refs) == 1:
            expected = ref_scorer.score(refs[0], hyp)[rouge_type]
        else:
            expected = ref_scorer.score_multi(refs, hyp)[rouge_type]
        got = factory(use_stemmer=use_stemmer).score(output=hyp, expected=refs)
        assert got.value == expected.fmeasure
        assert got.metadata == {"precision": expected.precision, "recall": expected.recall,
                                "fmeasure": expected.fmeasure}
        recall = rouge(rouge_type, measure="recall", use_stemmer=use_stemmer)
        assert recall.score(output=hyp, expected=refs).value == expected.recall


def test_rouge_names() -> None:
    assert (rouge_1().name, rouge_2().name, rouge_l().name) == ("rouge_1", "rouge_2", "rouge_l")


@pytest.mark.parametrize(("hyp", "refs"), PAIRS)
def test_edit_distance_and_similarity_equal_rapidfuzz(hyp: str, refs: list[str]) -> None:
    assert edit_similarity().score(output=hyp, expected=refs).value == max(
        Levenshtein.normalized_similarity(hyp, r) for r in refs)
    assert edit_distance().score(output=hyp, expected=refs).value == min(
        Levenshtein.normalized_distance(hyp, r) for r in refs)
    assert edit_distance(normalized=False).score(output=hyp, expected=refs).value == min(
        Levenshtein.distance(hyp, r) for r in refs)
    assert edit_similarity(case_sensitive=False).score(output=hyp, expected=refs).value == max(
        Levenshtein.normalized_similarity(hyp.casefold(), r.casefold()) for r in refs)


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("The Eiffel Tower!", "eiffel tower"),
        ("  an   apple, a pear ", "apple pear"),
        ("Theory of the atom", "theory of atom"),
    ],
)
def test_squad_normalization(raw: str, normalized: str) -> None:
    assert normalize_answer(raw) == normalized


@pytest.mark.parametrize(
    ("pred", "gold", "f1", "em"),
    [
        ("The Eiffel Tower", "eiffel tower", 1.0, True),
        ("in Paris, France", "Paris", 2 * (1 / 3) * 1 / (1 / 3 + 1), False),
        ("the big red dog", "a red dog", 2 * (2 / 3) * 1 / (2 / 3 + 1), False),
        ("blue", "red", 0.0, False),
        ("", "", 1.0, True),
        ("the", "", 1.0, True),  # both empty after normalization
        ("cat", "", 0.0, False),
    ],
)
def test_squad_f1_and_exact_match(pred: str, gold: str, f1: float, em: bool) -> None:
    assert token_f1().score(output=pred, expected=gold).value == pytest.approx(f1)
    assert squad_exact_match().score(output=pred, expected=gold).value is em


def test_squad_takes_the_best_gold_answer() -> None:
    assert token_f1().score(output="red dog", expected=["blue cat", "the red dog"]).value == 1.0
    assert squad_exact_match().score(output="Dog", expected=["cat", "dog"]).value is True
