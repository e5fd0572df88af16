// Types of /api/prompts and /api/playground (common/wire/prompts.py on the server).
export interface ChatMessage {
  role: string;
  content?: string | unknown[] | null;
  [k: string]: unknown;
}

export interface PromptVersion {
  project: string;
  name: string;
  version: string;
  number: number;
  version_id: string;
  content: { type: string; messages?: ChatMessage[]; text?: string; model?: string; params?: Record<string, unknown>; tags?: string[]; metadata?: Record<string, unknown> };
  variables: string[];
  labels: string[];
  author: string;
  created_at: string;
}

export interface PromptSummary {
  project: string;
  name: string;
  latest: string;
  version_id: string;
  versions: number;
  labels: Record<string, string>;
  updated_at: string;
}

export interface LabelEvent {
  label: string;
  from_version: string | null;
  to_version: string;
  author: string;
  at: string;
}

export interface PlaygroundSource {
  trace_id: string;
  span_id: string;
  project: string;
  name: string;
  messages: ChatMessage[];
  model: string | null;
  params: Record<string, unknown>;
  output: string | null;
  prompt: string | null;
}

export interface PlaygroundResult {
  output: string | null;
  model: string | null;
  input_tokens: number;
  output_tokens: number;
  duration_ms: number;
  trace_id: string;
  span_id: string;
  project: string;
  error: string | null;
}

export interface PlaygroundConfig {
  configured: boolean;
  base_url: string | null;
  default_model: string | null;
}

/** The text of a message's content (parts joined). */
export function contentText(c: ChatMessage["content"]): string {
  if (typeof c === "string") return c;
  if (Array.isArray(c)) return c.map((p) => (p && typeof p === "object" && "text" in p ? String((p as { text: unknown }).text) : "")).join("");
  return "";
}
