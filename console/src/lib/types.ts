// Response shapes of the collector's query API (issue 4; /schema is the reference).

export interface TraceSummary {
  trace_id: string;
  root_name: string;
  start_time: string;
  duration_ms: number;
  span_count: number;
  status: string;
  input_tokens: number;
  output_tokens: number;
  total_tokens?: number;
  cost_usd: number | null;
  user_id: string;
  session_id: string;
  tags: string[];
  model?: string;
  models?: string[];
  kind?: string;
  project?: string;
}

export interface TraceList {
  traces: TraceSummary[];
  next_cursor: string | null;
}

export interface Span {
  span_id: string;
  parent_span_id: string;
  trace_id?: string;
  name: string;
  kind: string;
  start_time: string;
  end_time: string;
  duration_ms: number;
  status: string;
  error: string;
  model: string;
  provider: string;
  input: unknown;
  output: unknown;
  input_tokens: number;
  output_tokens: number;
  total_tokens?: number;
  cached_tokens?: number;
  cost_usd: number | null;
  attributes: unknown;
  events: unknown;
  user_id?: string;
  session_id?: string;
  tags?: string[];
  metadata?: unknown;
  resource?: unknown;
  scope_name?: string;
}

export interface TraceDetail {
  trace_id: string;
  project?: string;
  spans: Span[];
}

export interface Feedback {
  id?: string;
  feedback_id?: string;
  trace_id: string;
  span_id?: string;
  name: string;
  value: unknown;
  source: string;
  author?: string;
  comment?: string;
  created_at?: string;
  time?: string;
  timestamp?: string;
}

export const OP_KINDS = ["llm", "retrieval", "embedding", "rerank", "tool", "agent", "chain", "guardrail", "evaluator"];
export const STATUSES = ["ok", "error", "unset"];
