"""Fixtures of the prompts tests: the evals CLI harness, the OpenAI-compatible stub and
the console's browser fixtures."""

from stubs.openai_server import openai_stub  # noqa: F401  (a pytest fixture)

from tests.console.conftest import browser_context, console_dist, page  # noqa: F401
from tests.evals.conftest import server_evals  # noqa: F401  (a pytest fixture)
