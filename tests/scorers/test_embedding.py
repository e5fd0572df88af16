"""Embedding similarity through an OpenAI-compatible /v1/embeddings endpoint and a local hook."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from stubs.openai_server import OpenAIStub, text_vector

from scorers import ScorerError, embedding_similarity
from scorers._http import ProviderError


def np_cosine(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_cosine_of_endpoint_vectors(openai_stub: OpenAIStub) -> None:
    openai_stub.embeddings([[1.0, 0.0, 1.0], [1.0, 1.0, 0.0]])
    s = embedding_similarity(base_url=openai_stub.base_url, model="emb-1", api_key="k")
    score = s.score(output="alpha", expected="beta")
    assert score.value == pytest.approx(np_cosine([1, 0, 1], [1, 1, 0]))
    (req,) = openai_stub.embedding_requests()
    assert req.body == {"model": "emb-1", "input": ["alpha", "beta"]}
    assert req.headers["authorization"] == "Bearer k"


def test_best_of_several_references_and_threshold(openai_stub: OpenAIStub) -> None:
    s = embedding_similarity(base_url=openai_stub.base_url, model="emb", threshold=0.99)
    texts = ["the cat sat", "a dog ran far away", "the cat sat"]
    score = s.score(output=texts[0], expected=texts[1:])
    assert score.value == pytest.approx(1.0) and score.passed is True
    worse = s.score(output="the cat sat", expected="a dog ran far away")
    assert worse.value == pytest.approx(np_cosine(text_vector("the cat sat"), text_vector("a dog ran far away")))
    assert worse.passed is False


def test_async_path_and_retry_on_503(openai_stub: OpenAIStub) -> None:
    openai_stub.error(503, "warming up", route="embeddings")
    s = embedding_similarity(base_url=openai_stub.base_url, model="emb")
    score = asyncio.run(s.ascore(output="hello world", expected="hello world"))
    assert score.value == pytest.approx(1.0)
    assert len(openai_stub.embedding_requests()) == 2


def test_wrong_vector_count_and_missing_config_are_clear(openai_stub: OpenAIStub) -> None:
    openai_stub.embeddings([[1.0, 0.0]])
    with pytest.raises(ScorerError, match="1 vectors, expected 2"):
        embedding_similarity(base_url=openai_stub.base_url, model="e").score(output="a", expected="b")
    with pytest.raises(ScorerError, match="SPYGLASS_EMBEDDING_BASE_URL"):
        embedding_similarity().score(output="a", expected="b")
    openai_stub.error(404, "model not found", route="embeddings")
    with pytest.raises(ProviderError, match=r"HTTP 404.*model not found"):
        embedding_similarity(base_url=openai_stub.base_url, model="nope").score(output="a", expected="b")


def test_local_embedder_hook_needs_no_endpoint() -> None:
    calls: list[list[str]] = []

    def embed(texts: list[str]) -> list[list[float]]:
        calls.append(texts)
        return [[float(len(t)), 1.0] for t in texts]

    s = embedding_similarity(embed=embed)
    score = s.score(output="abcd", expected=["ab", "abcd"])
    assert score.value == pytest.approx(1.0) and score.metadata == {"embedder": "local"}
    assert calls == [["abcd", "ab", "abcd"]]
    assert asyncio.run(s.ascore(output="ab", expected="abcd")).value == pytest.approx(np_cosine([2, 1], [4, 1]))


def test_local_model_without_sentence_transformers_says_what_to_install() -> None:
    try:
        import sentence_transformers  # noqa: F401
    except ImportError:
        with pytest.raises(ScorerError, match="pip install sentence-transformers"):
            embedding_similarity(local_model="all-MiniLM-L6-v2")
    else:
        pytest.skip("sentence-transformers is installed here")
