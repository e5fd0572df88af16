"""A small support bot whose answers pass a guardrail before they reach the user.

The "model" is a stand-in that sometimes leaks a customer's email and card number (as a
real model might after reading a CRM record). A guardrail (PII + secrets + a codename
regex, rules only, sub-millisecond) blocks such answers; the block is a ``guardrail``
span in the trace, next to the retrieval and LLM spans.

    make run                                   # a collector on http://127.0.0.1:4318
    python examples/guardrail_app.py "Where is my order?"
    python examples/guardrail_app.py "What email do you have for Maria?"
    python examples/guardrail_app.py --redact "What email do you have for Maria?"

Then open the printed trace in the console (or GET /api/traces/<trace_id>).
Settings: SPYGLASS_ENDPOINT, SPYGLASS_PROJECT (default ``guardrail-demo``).
"""

from __future__ import annotations

import argparse
import json
import os

import tracer
from scorers import Guardrail, pii, regex, secrets
from tracer import op

CRM = {
    "maria": "Maria Lopez, maria.lopez@example.org, card 4111 1111 1111 1111, customer since 2019",
}

SAFE_REPLY = "I'm sorry, I can't share that. A support agent will follow up."


@op(kind="retrieval")
def lookup_customer(question: str) -> list[str]:
    """Fetch CRM records mentioned in the question."""
    return [record for name, record in CRM.items() if name in question.lower()]


@op(kind="llm")
def generate(question: str, records: list[str]) -> dict:
    """A stand-in for a chat model: answers from the records, leaking them verbatim."""
    if records:
        text = f"Here is what we have on file: {records[0]}."
    else:
        text = "Your order left our warehouse yesterday and should arrive within 3 days."
    return {
        "model": "gpt-4o-mini",
        "choices": [{"message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 40 + 12 * len(records), "completion_tokens": len(text.split())},
    }


def build_guardrail(redact: bool) -> Guardrail:
    """Rule checks only: fast enough to run on every response."""
    return Guardrail(
        [pii(), secrets(), regex(r"(?i)project\s+titan", must_match=False, label="CODENAME", name="codename")],
        on_fail="redact" if redact else "block",
        fail_open=False,
        name="output-guardrail",
    )


@op(kind="agent")
def answer(question: str, redact: bool = False) -> str:
    """Retrieve, generate, then guard the reply before it leaves the app."""
    records = lookup_customer(question)
    reply = generate(question, records)["choices"][0]["message"]["content"]
    result = build_guardrail(redact).check(reply)
    if result.blocked:
        return SAFE_REPLY
    return result.text or SAFE_REPLY


def main() -> None:
    """Answer one question and print the reply with its trace id."""
    ap = argparse.ArgumentParser(description="Support bot with an output guardrail.")
    ap.add_argument("question")
    ap.add_argument("--redact", action="store_true", help="redact PII instead of blocking the reply")
    args = ap.parse_args()
    tracer.init(project=os.environ.get("SPYGLASS_PROJECT", "guardrail-demo"))

    trace_id: dict[str, str | None] = {}

    @op(name="request", kind="chain")
    def request(question: str) -> str:
        trace_id["id"] = tracer.current_span().trace_id
        return answer(question, redact=args.redact)

    reply = request(args.question)
    flushed = tracer.flush(10)
    print(json.dumps({"reply": reply, "trace_id": trace_id.get("id"), "exported": flushed}))


if __name__ == "__main__":
    main()
