"""Fixtures of the prompts tests: the evals CLI harness and the OpenAI-compatible stub."""

from stubs.openai_server import openai_stub  # noqa: F401  (a pytest fixture)

from tests.evals.conftest import server_evals  # noqa: F401  (a pytest fixture)
