"""Metric scorers computed by well-kept libraries (sacrebleu, rouge-score, rapidfuzz)."""

from scorers.metrics.embedding import EmbeddingSimilarity, cosine, embedding_similarity
from scorers.metrics.squad import normalize_answer, squad_exact_match, token_f1
from scorers.metrics.text import (
    bleu,
    chrf,
    edit_distance,
    edit_similarity,
    rouge,
    rouge_1,
    rouge_2,
    rouge_l,
)

__all__ = [
    "EmbeddingSimilarity", "bleu", "chrf", "cosine", "edit_distance", "edit_similarity",
    "embedding_similarity", "normalize_answer", "rouge", "rouge_1", "rouge_2", "rouge_l",
    "squad_exact_match", "token_f1",
]
