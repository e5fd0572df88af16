"""Reference-based text metrics computed by the reference libraries themselves.

BLEU and chrF come from ``sacrebleu`` (sentence scores per row; corpus scores in
``summarize``, since corpus BLEU is not the mean of sentence BLEU), ROUGE from
``rouge-score``, edit distance from ``rapidfuzz``. Values are the libraries' own
numbers on their own scales (sacrebleu: 0-100; the others: 0-1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rapidfuzz.distance import Levenshtein

from scorers.base import Score, Scorer, ScorerError, default_summary


def _as_text(value: Any, field: str, scorer: str) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, int | float):
        return str(value)
    raise ScorerError(f"scorer {scorer!r}: field {field!r} must be text, got {type(value).__name__}")


def _references(expected: Any, scorer: str) -> list[str]:
    refs = list(expected) if isinstance(expected, list | tuple) else [expected]
    if not refs:
        raise ScorerError(f"scorer {scorer!r}: 'expected' is an empty list")
    return [_as_text(r, "expected", scorer) for r in refs]


class _SacreMetric(Scorer):
    """Shared sentence/corpus plumbing for sacrebleu metrics."""

    required = ("output", "expected")

    def _sentence_metric(self) -> Any:
        raise NotImplementedError

    def _corpus_metric(self) -> Any:
        raise NotImplementedError

    def _score(self, output: Any, expected: Any) -> Score:
        hyp = _as_text(output, "output", self.name)
        refs = _references(expected, self.name)
        result = self._sentence_metric().sentence_score(hyp, refs)
        # The texts ride along so summarize() can hand the whole corpus to sacrebleu.
        return self.make_score(float(result.score), None, {"hypothesis": hyp, "references": refs})

    def summarize(self, scores: Sequence[Score]) -> dict[str, Any]:
        """Mean of sentence scores plus sacrebleu's corpus score over all rows."""
        out = default_summary(scores)
        rows = [s.metadata for s in scores if "hypothesis" in s.metadata]
        if rows:
            hyps = [r["hypothesis"] for r in rows]
            width = max(len(r["references"]) for r in rows)
            # sacrebleu takes reference streams; None pads rows with fewer references.
            streams = [[r["references"][i] if i < len(r["references"]) else None for r in rows]
                       for i in range(width)]
            out["corpus"] = float(self._corpus_metric().corpus_score(hyps, streams).score)
        return out


class BLEUScorer(_SacreMetric):
    """sacrebleu BLEU (0-100): sentence BLEU per row, corpus BLEU in the summary."""

    default_name = "bleu"

    def __init__(self, *, tokenize: str | None = None, lowercase: bool = False,
                 smooth_method: str = "exp", smooth_value: float | None = None,
                 max_ngram_order: int = 4, **kw: Any) -> None:
        super().__init__(**kw)
        self.options = dict(tokenize=tokenize, lowercase=lowercase, smooth_method=smooth_method,
                            smooth_value=smooth_value, max_ngram_order=max_ngram_order)
        from sacrebleu.metrics import BLEU  # imported on use: keeps `import scorers` fast

        try:
            self._sentence = BLEU(**self.options, effective_order=True)
        except Exception as exc:
            raise ScorerError(f"bleu: bad options {self.options}: {exc}") from exc

    def _sentence_metric(self) -> Any:
        return self._sentence

    def _corpus_metric(self) -> Any:
        from sacrebleu.metrics import BLEU

        return BLEU(**self.options)


class CHRFScorer(_SacreMetric):
    """sacrebleu chrF / chrF++ (0-100): sentence per row, corpus in the summary."""

    default_name = "chrf"

    def __init__(self, *, char_order: int = 6, word_order: int = 0, beta: int = 2,
                 lowercase: bool = False, whitespace: bool = False, eps_smoothing: bool = False,
                 **kw: Any) -> None:
        super().__init__(**kw)
        self.options = dict(char_order=char_order, word_order=word_order, beta=beta,
                            lowercase=lowercase, whitespace=whitespace, eps_smoothing=eps_smoothing)
        from sacrebleu.metrics import CHRF

        self._sentence = CHRF(**self.options)

    def _sentence_metric(self) -> Any:
        return self._sentence

    def _corpus_metric(self) -> Any:
        from sacrebleu.metrics import CHRF

        return CHRF(**self.options)


def bleu(
    *, tokenize: str | None = None, lowercase: bool = False, smooth_method: str = "exp",
    smooth_value: float | None = None, max_ngram_order: int = 4, threshold: float | None = None,
    name: str | None = None, column_map: Mapping[str, str] | None = None,
) -> BLEUScorer:
    """BLEU of ``output`` against ``expected`` (one reference or a list), as sacrebleu computes it."""
    return BLEUScorer(tokenize=tokenize, lowercase=lowercase, smooth_method=smooth_method,
                      smooth_value=smooth_value, max_ngram_order=max_ngram_order,
                      threshold=threshold, name=name, column_map=column_map)


def chrf(
    *, char_order: int = 6, word_order: int = 0, beta: int = 2, lowercase: bool = False,
    whitespace: bool = False, eps_smoothing: bool = False, threshold: float | None = None,
    name: str | None = None, column_map: Mapping[str, str] | None = None,
) -> CHRFScorer:
    """chrF of ``output`` against ``expected``; ``word_order=2`` gives chrF++."""
    return CHRFScorer(char_order=char_order, word_order=word_order, beta=beta, lowercase=lowercase,
                      whitespace=whitespace, eps_smoothing=eps_smoothing, threshold=threshold,
                      name=name or ("chrf++" if word_order else "chrf"), column_map=column_map)


class Rouge(Scorer):
    """ROUGE-1/2/L (``rouge-score``); with several references, the best one counts."""

    required = ("output", "expected")
    MEASURES = ("fmeasure", "precision", "recall")

    def __init__(self, rouge_type: str, *, measure: str = "fmeasure", use_stemmer: bool = False,
                 **kw: Any) -> None:
        if measure not in self.MEASURES:
            raise ScorerError(f"rouge: measure must be one of {self.MEASURES}, got {measure!r}")
        kw.setdefault("name", None)
        kw["name"] = kw["name"] or rouge_type.replace("rouge", "rouge_").lower()
        super().__init__(**kw)
        # rouge-score pulls in nltk (most of a second): imported only when used.
        from rouge_score import rouge_scorer

        try:
            self._scorer = rouge_scorer.RougeScorer([rouge_type], use_stemmer=use_stemmer)
        except ValueError as exc:
            raise ScorerError(f"rouge: {exc}") from exc
        self.rouge_type, self.measure = rouge_type, measure

    def _score(self, output: Any, expected: Any) -> Score:
        hyp = _as_text(output, "output", self.name)
        refs = _references(expected, self.name)
        # rouge-score's argument order is (target, prediction).
        if len(refs) == 1:
            result = self._scorer.score(refs[0], hyp)[self.rouge_type]
        else:
            result = self._scorer.score_multi(refs, hyp)[self.rouge_type]
        return self.make_score(
            float(getattr(result, self.measure)), None,
            {"precision": result.precision, "recall": result.recall, "fmeasure": result.fmeasure},
        )


def rouge(
    rouge_type: str = "rougeL", *, measure: str = "fmeasure", use_stemmer: bool = False,
    threshold: float | None = None, name: str | None = None,
    column_map: Mapping[str, str] | None = None,
) -> Rouge:
    """ROUGE of ``output`` vs ``expected``: ``rouge_type`` rouge1, rouge2, rougeL or rougeLsum."""
    return Rouge(rouge_type, measure=measure, use_stemmer=use_stemmer, threshold=threshold,
                 name=name, column_map=column_map)


def rouge_1(**kw: Any) -> Rouge:
    """ROUGE-1 F-measure (see :func:`rouge` for options)."""
    return rouge("rouge1", **kw)


def rouge_2(**kw: Any) -> Rouge:
    """ROUGE-2 F-measure (see :func:`rouge` for options)."""
    return rouge("rouge2", **kw)


def rouge_l(**kw: Any) -> Rouge:
    """ROUGE-L F-measure (see :func:`rouge` for options)."""
    return rouge("rougeL", **kw)


class EditDistance(Scorer):
    """Levenshtein distance or similarity between ``output`` and ``expected`` (rapidfuzz)."""

    required = ("output", "expected")

    def __init__(self, *, similarity: bool, normalized: bool, case_sensitive: bool, **kw: Any) -> None:
        super().__init__(**kw)
        self.similarity, self.normalized, self.case_sensitive = similarity, normalized, case_sensitive
        # Distances: lower is better; similarities: higher.
        self.higher_is_better = similarity  # type: ignore[misc]
        if similarity:
            self._fn = Levenshtein.normalized_similarity if normalized else Levenshtein.similarity
        else:
            self._fn = Levenshtein.normalized_distance if normalized else Levenshtein.distance

    def _score(self, output: Any, expected: Any) -> Score:
        hyp = _as_text(output, "output", self.name)
        refs = _references(expected, self.name)
        if not self.case_sensitive:
            hyp, refs = hyp.casefold(), [r.casefold() for r in refs]
        values = [float(self._fn(hyp, r)) for r in refs]
        best = max(values) if self.similarity else min(values)
        return self.make_score(best)


def edit_distance(
    *, normalized: bool = True, case_sensitive: bool = True, threshold: float | None = None,
    name: str | None = None, column_map: Mapping[str, str] | None = None,
) -> EditDistance:
    """Levenshtein distance (normalized to 0-1 by default; lower is better; passes <= threshold)."""
    return EditDistance(similarity=False, normalized=normalized, case_sensitive=case_sensitive,
                        threshold=threshold, name=name or "edit_distance", column_map=column_map)


def edit_similarity(
    *, normalized: bool = True, case_sensitive: bool = True, threshold: float | None = None,
    name: str | None = None, column_map: Mapping[str, str] | None = None,
) -> EditDistance:
    """Levenshtein similarity (``1 - normalized distance`` by default; passes >= threshold)."""
    return EditDistance(similarity=True, normalized=normalized, case_sensitive=case_sensitive,
                        threshold=threshold, name=name or "edit_similarity", column_map=column_map)
