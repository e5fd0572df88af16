"""Every span and resource attribute name Spyglass writes or reads.

This module is the single owner of those names: the tracer writes them, the collector
maps them (and other conventions) to its canonical span record, scorers and evals read
them. Import it as ``from common import attributes as A``. Where the OpenTelemetry
GenAI semantic conventions define a name we use it; what they lack lives under
``spyglass.*``.
"""

from __future__ import annotations

# Resource attributes
PROJECT = "spyglass.project"
SERVICE_NAME = "service.name"

# The op itself
OP_NAME = "spyglass.op.name"
OP_KIND = "spyglass.op.kind"
INPUTS = "spyglass.inputs"  # JSON object of bound arguments
OUTPUT = "spyglass.output"  # JSON value
COST_USD = "spyglass.cost_usd"

# Context applied with ``with tracer.attributes(...)`` (tracer.context)
USER_ID = "spyglass.user_id"
SESSION_ID = "spyglass.session_id"
TAGS = "spyglass.tags"  # string array
METADATA = "spyglass.metadata"  # JSON object

# Streams (generators and async generators)
STREAM_CHUNKS = "spyglass.stream.chunks"
STREAM_CLOSED_EARLY = "spyglass.stream.closed_early"
TIME_TO_FIRST_TOKEN_MS = "spyglass.llm.time_to_first_token_ms"

# Token usage Spyglass records beyond the GenAI conventions
USAGE_CACHED_TOKENS = "spyglass.usage.cached_tokens"
USAGE_REASONING_TOKENS = "spyglass.usage.reasoning_tokens"
USAGE_TOTAL_TOKENS = "spyglass.usage.total_tokens"
USAGE_ESTIMATED = "spyglass.usage.estimated"  # true when counted with tiktoken
# Anthropic prompt-cache writes (part of input tokens, billed at the cache-write rate)
USAGE_CACHE_CREATION_TOKENS = "spyglass.usage.cache_creation_tokens"
PRICE_TABLE_VERSION = "spyglass.cost.price_table_version"  # table that priced cost_usd

# Guardrails and scorers
GUARDRAIL_PASSED = "spyglass.guardrail.passed"
GUARDRAIL_ACTION = "spyglass.guardrail.action"  # block | redact | flag
GUARDRAIL_FAILED_SCORERS = "spyglass.guardrail.failed_scorers"  # string array
SCORE_NAME = "spyglass.score.name"
SCORE_VALUE = "spyglass.score.value"

# Evaluations
EVAL_RUN_ID = "spyglass.eval.run_id"
EVAL_NAME = "spyglass.eval.name"
EVAL_ROW_INDEX = "spyglass.eval.row_index"
EVAL_DATASET = "spyglass.eval.dataset"  # name:version

# OpenTelemetry GenAI semantic conventions
GEN_AI_OPERATION_NAME = "gen_ai.operation.name"
GEN_AI_SYSTEM = "gen_ai.system"  # older name of the provider attribute
GEN_AI_PROVIDER_NAME = "gen_ai.provider.name"
GEN_AI_REQUEST_MODEL = "gen_ai.request.model"
GEN_AI_RESPONSE_MODEL = "gen_ai.response.model"
GEN_AI_RESPONSE_ID = "gen_ai.response.id"
GEN_AI_RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons"
GEN_AI_REQUEST_TEMPERATURE = "gen_ai.request.temperature"
GEN_AI_REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens"
GEN_AI_REQUEST_TOP_P = "gen_ai.request.top_p"
GEN_AI_REQUEST_TOP_K = "gen_ai.request.top_k"
GEN_AI_REQUEST_STOP_SEQUENCES = "gen_ai.request.stop_sequences"
GEN_AI_REQUEST_FREQUENCY_PENALTY = "gen_ai.request.frequency_penalty"
GEN_AI_REQUEST_PRESENCE_PENALTY = "gen_ai.request.presence_penalty"
GEN_AI_REQUEST_SEED = "gen_ai.request.seed"
GEN_AI_USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
# Parts of input_tokens (which includes them), as newer GenAI conventions name them
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS = "gen_ai.usage.cache_read.input_tokens"
GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS = "gen_ai.usage.cache_creation.input_tokens"
GEN_AI_INPUT_MESSAGES = "gen_ai.input.messages"  # JSON array of {role, content}
GEN_AI_OUTPUT_MESSAGES = "gen_ai.output.messages"  # JSON array of {role, content}
GEN_AI_SYSTEM_INSTRUCTIONS = "gen_ai.system_instructions"

OP_KINDS = (
    "llm",
    "retrieval",
    "embedding",
    "rerank",
    "tool",
    "agent",
    "chain",
    "guardrail",
    "evaluator",
)

