"""A nested LLM application traced with Spyglass: an agent that plans with an LLM,
searches in a thread pool, calls tools concurrently with asyncio, and streams its answer.

Run it against a collector (``make run`` in another terminal)::

    python examples/nested_app.py [project]

It prints the trace id; open the console (http://127.0.0.1:4318) to see the tree:

    agent (agent)
    ├── plan (llm)                 model, tokens, cost
    ├── search (retrieval) x2      run by tracer.ThreadPoolExecutor workers
    │   └── embed (embedding)      usage set with tracer.log_usage
    ├── weather (tool) x2          asyncio.gather
    └── stream_answer (llm)        async generator: chunks, time to first token, usage
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from typing import Any

import tracer
from tracer import op

DOCS = {
    "paris": "Paris is the capital of France; in spring it is mild.",
    "rome": "Rome is the capital of Italy; in spring it is warm.",
}


@op(kind="embedding")
def embed(text: str) -> list[float]:
    """A stand-in embedding model that reports its own usage."""
    tracer.log_model("text-embedding-3-small", provider="openai")
    tracer.log_usage(input_tokens=len(text.split()))
    return [float(len(word)) for word in text.split()[:4]]


@op(kind="retrieval")
def search(query: str, k: int = 1) -> list[str]:
    """Find documents for a query (runs in a worker thread)."""
    embed(query)
    return [text for key, text in DOCS.items() if key in query.lower()][:k]


@op(kind="tool")
async def weather(city: str) -> dict[str, Any]:
    """A slow external tool."""
    await asyncio.sleep(0.01)
    return {"city": city, "forecast": "sunny", "celsius": 21}


@op(kind="llm")
def plan(messages: list[dict[str, str]], model: str = "gpt-4o-mini",
         temperature: float = 0.0) -> dict[str, Any]:
    """The planning call; returns an OpenAI-shaped chat completion with usage."""
    return {
        "id": "chatcmpl-plan",
        "object": "chat.completion",
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {
            "role": "assistant", "content": "search: paris, rome; tools: weather"}}],
        "usage": {"prompt_tokens": 48, "completion_tokens": 9, "total_tokens": 57},
    }


@op(kind="llm")
async def stream_answer(messages: list[dict[str, str]],
                        model: str = "gpt-4o-mini") -> AsyncIterator[dict[str, Any]]:
    """A streamed answer: OpenAI chat chunks, usage in the last one."""
    for piece in ("Both cities are ", "sunny, ", "about 21°C."):
        await asyncio.sleep(0.005)
        yield {"id": "chatcmpl-ans", "object": "chat.completion.chunk", "model": model,
               "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
    yield {"id": "chatcmpl-ans", "object": "chat.completion.chunk", "model": model,
           "choices": [],
           "usage": {"prompt_tokens": 120, "completion_tokens": 11, "total_tokens": 131}}


@op(kind="agent")
async def agent(question: str) -> dict[str, str]:
    """Plan, search in threads, call tools concurrently, stream the answer."""
    plan([{"role": "user", "content": question}])
    with tracer.ThreadPoolExecutor(max_workers=2) as pool:
        docs = [d for found in pool.map(search, ["Paris spring", "Rome spring"]) for d in found]
    forecasts = await asyncio.gather(weather("Paris"), weather("Rome"))
    context = "\n".join(docs) + "\n" + str(forecasts)
    text = ""
    async for chunk in stream_answer([{"role": "system", "content": context},
                                      {"role": "user", "content": question}]):
        for choice in chunk["choices"]:
            text += choice["delta"].get("content") or ""
    return {"answer": text, "trace_id": tracer.current_span().trace_id or ""}


def main() -> None:
    """Trace one agent run and print its trace id."""
    project = sys.argv[1] if len(sys.argv) > 1 else "nested-demo"
    tracer.init(project=project)
    with tracer.attributes(user_id="demo-user", session_id="session-1", tags=["example"]):
        result = asyncio.run(agent("What's the weather in Paris and Rome this spring?"))
    print(result["answer"])
    if not tracer.flush(10):
        print("warning: not every span reached the collector", file=sys.stderr)
    print(f"trace_id={result['trace_id']}")


if __name__ == "__main__":
    main()
