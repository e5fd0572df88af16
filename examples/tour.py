"""The README's 30-second tour, verbatim: run ``make run`` in one terminal, then
``python examples/tour.py`` and open http://127.0.0.1:4318 to see the trace."""

import tracer
from tracer import op

tracer.init(project="tour")          # OTLP/HTTP to http://127.0.0.1:4318

@op(kind="llm")
def ask(question: str) -> dict:
    # Call your provider here; an OpenAI-shaped response is read for model and usage.
    return {
        "model": "gpt-4o-mini",
        "choices": [{"message": {"role": "assistant", "content": "Paris."}}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 2, "total_tokens": 14},
    }

@op
def answer(question: str) -> str:
    return ask(question)["choices"][0]["message"]["content"]

answer("What is the capital of France?")
tracer.flush()
