"""An evaluation suite, the one docs/evals.md walks through.

    evals datasets push examples/data/capitals.jsonl --name capitals --key id
    evals run examples/evals_suite.py            # first run: nothing to compare with
    # edit STYLE below to "chatty", then:
    evals run examples/evals_suite.py            # exit 1: exact_match and concise regressed

The "model" here is a stand-in that answers from a small table and returns an
OpenAI-shaped response, so the suite runs anywhere with no API key; put your provider
call in its place.
"""

from __future__ import annotations

import asyncio
import re

from evals import Eval, Threshold, dataset
from scorers import exact_match, rouge_l, scorer
from tracer import op

# The "prompt" of this toy app. Change it to "chatty" and run the suite again.
STYLE = "short"

KNOWN = {
    "France": "Paris", "Italy": "Rome", "Spain": "Madrid", "Japan": "Tokyo", "Kenya": "Nairobi",
    "Peru": "Lima", "Egypt": "Cairo", "Chile": "Santiago", "Norway": "Oslo", "Canada": "Toronto",
    "Australia": "Sydney", "Brazil": "Brasília", "Turkey": "Ankara", "Nigeria": "Abuja",
    "Vietnam": "Hanoi", "Poland": "Warsaw", "Morocco": "Rabat", "Argentina": "Buenos Aires",
    "Thailand": "Bangkok", "Portugal": "Lisbon",
}


@op(kind="llm")
async def chat(messages: list[dict], model: str = "gpt-4o-mini") -> dict:
    """Stands in for a chat-completions call (same response shape, usage included)."""
    await asyncio.sleep(0.02)
    question = messages[-1]["content"]
    country = re.search(r"capital of (.+?)\?", question).group(1)
    city = KNOWN.get(country, "I don't know")
    text = city if "one word" in messages[0]["content"] else f"The capital of {country} is {city}, of course!"
    return {
        "model": model,
        "choices": [{"message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 12 + len(question.split()), "completion_tokens": len(text.split()),
                  "total_tokens": 12 + len(question.split()) + len(text.split())},
    }


@op
async def answer(question: str, model: str) -> str:
    """The function under test: builds the prompt, calls the model, returns its text."""
    system = ("Answer with the city name only, one word if you can." if STYLE == "short"
              else "Answer in a friendly full sentence.")
    reply = await chat([{"role": "system", "content": system}, {"role": "user", "content": question}],
                       model=model)
    return reply["choices"][0]["message"]["content"]


@scorer
def concise(output: str) -> bool:
    """At most five words."""
    return len(output.split()) <= 5


capitals = Eval(
    name="capitals",
    dataset=dataset("capitals:latest"),
    task=answer,
    scorers=[exact_match(case_sensitive=False), rouge_l(), concise],
    params={"model": "gpt-4o-mini"},
    # ROUGE-L must move by at least 0.05 (and significantly) to count as a change.
    thresholds={"rouge_l": Threshold(min_delta=0.05)},
    concurrency=8,
    timeout=30,
)
