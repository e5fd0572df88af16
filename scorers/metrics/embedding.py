"""Embedding cosine similarity between ``output`` and ``expected``.

Embeddings come from any OpenAI-compatible ``/v1/embeddings`` endpoint over httpx
(``base_url``/``api_key``/``model`` arguments, else ``SPYGLASS_EMBEDDING_BASE_URL``,
``SPYGLASS_EMBEDDING_API_KEY``, ``SPYGLASS_EMBEDDING_MODEL``), or from a local function
``embed(texts) -> vectors`` you pass in — e.g. a sentence-transformers model you
installed yourself (:func:`sentence_transformers_embedder`).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from scorers._http import EndpointConfig, client_for
from scorers.base import Score, Scorer, ScorerError
from scorers.metrics.text import _as_text, _references

Embedder = Callable[[list[str]], Sequence[Sequence[float]]]


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity of two vectors (0 when either is all zeros)."""
    va, vb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if va.shape != vb.shape:
        raise ScorerError(f"embedding sizes differ: {va.shape[0]} vs {vb.shape[0]}")
    na, nb = float(np.linalg.norm(va)), float(np.linalg.norm(vb))
    if na == 0.0 or nb == 0.0:
        return 0.0
    return float(np.dot(va, vb) / (na * nb))


def sentence_transformers_embedder(model_name: str = "all-MiniLM-L6-v2") -> Embedder:
    """A local embedder from an installed ``sentence-transformers`` model (not a dependency)."""
    try:
        from sentence_transformers import SentenceTransformer  # type: ignore[import-not-found]
    except ImportError as exc:
        raise ScorerError(
            "embedding_similarity(local_model=...) needs `pip install sentence-transformers` "
            "and the model available locally"
        ) from exc
    model = SentenceTransformer(model_name)
    return lambda texts: model.encode(texts).tolist()


class EmbeddingSimilarity(Scorer):
    """Best cosine similarity between ``output`` and ``expected`` (one text or a list)."""

    required = ("output", "expected")
    default_name = "embedding_similarity"
    cheap = False
    is_async = True

    def __init__(self, *, base_url: str | None = None, api_key: str | None = None,
                 model: str | None = None, embed: Embedder | None = None,
                 max_concurrency: int = 8, timeout_s: float = 30.0, max_retries: int = 4,
                 backoff_s: float = 0.5, **kw: Any) -> None:
        super().__init__(**kw)
        self._base_url, self._api_key, self._model = base_url, api_key, model
        self.embed = embed
        self.max_concurrency, self.timeout_s = max_concurrency, timeout_s
        self.max_retries, self.backoff_s = max_retries, backoff_s
        if embed is not None:
            self.is_async = False  # type: ignore[misc]

    def _endpoint(self) -> tuple[Any, str]:
        base_url = self._base_url or os.environ.get("SPYGLASS_EMBEDDING_BASE_URL")
        model = self._model or os.environ.get("SPYGLASS_EMBEDDING_MODEL")
        api_key = self._api_key or os.environ.get("SPYGLASS_EMBEDDING_API_KEY")
        if not base_url or not model:
            raise ScorerError(
                "embedding_similarity: no embeddings endpoint configured; pass base_url= and "
                "model= (or embed=<function>), or set SPYGLASS_EMBEDDING_BASE_URL and "
                "SPYGLASS_EMBEDDING_MODEL"
            )
        config = EndpointConfig(base_url=base_url, api_key=api_key, timeout_s=self.timeout_s,
                                max_retries=self.max_retries, backoff_s=self.backoff_s,
                                max_concurrency=self.max_concurrency)
        return client_for(config), model

    @staticmethod
    def _vectors(body: Mapping[str, Any], n: int) -> list[list[float]]:
        data = body.get("data")
        if not isinstance(data, list) or len(data) != n:
            raise ScorerError(f"embeddings reply has {len(data) if isinstance(data, list) else 'no'} "
                              f"vectors, expected {n}")
        ordered = sorted(data, key=lambda d: d.get("index", 0))
        return [d["embedding"] for d in ordered]

    def _result(self, texts: list[str], vectors: Sequence[Sequence[float]], meta: dict[str, Any]) -> Score:
        sims = [cosine(vectors[0], v) for v in vectors[1:]]
        return self.make_score(max(sims), None, meta)

    def _inputs(self, output: Any, expected: Any) -> list[str]:
        return [_as_text(output, "output", self.name), *_references(expected, self.name)]

    def _score(self, output: Any, expected: Any) -> Score:
        texts = self._inputs(output, expected)
        if self.embed is not None:
            return self._result(texts, [list(v) for v in self.embed(texts)], {"embedder": "local"})
        client, model = self._endpoint()
        body = client.post("embeddings", {"model": model, "input": texts})
        return self._result(texts, self._vectors(body, len(texts)), {"model": body.get("model", model)})

    async def _ascore(self, output: Any, expected: Any) -> Score:
        if self.embed is not None:
            return await asyncio.to_thread(self._score, output, expected)
        texts = self._inputs(output, expected)
        client, model = self._endpoint()
        body = await client.apost("embeddings", {"model": model, "input": texts})
        return self._result(texts, self._vectors(body, len(texts)), {"model": body.get("model", model)})


def embedding_similarity(
    *, base_url: str | None = None, api_key: str | None = None, model: str | None = None,
    embed: Embedder | None = None, local_model: str | None = None, threshold: float | None = None,
    max_concurrency: int = 8, timeout_s: float = 30.0, max_retries: int = 4,
    name: str | None = None, column_map: Mapping[str, str] | None = None,
) -> EmbeddingSimilarity:
    """Cosine similarity of ``output`` and ``expected`` embeddings (best over several refs).

    ``local_model="all-MiniLM-L6-v2"`` uses an installed sentence-transformers model instead
    of an endpoint; ``embed=`` takes any ``list[str] -> vectors`` function.
    """
    if local_model is not None and embed is None:
        embed = sentence_transformers_embedder(local_model)
    return EmbeddingSimilarity(base_url=base_url, api_key=api_key, model=model, embed=embed,
                               max_concurrency=max_concurrency, timeout_s=timeout_s,
                               max_retries=max_retries, threshold=threshold, name=name,
                               column_map=column_map)
