// Types of /api/prompts and /api/playground (common/wire/prompts.py on the server).
import type { components } from "./api.gen";

export interface ChatMessage {
  role: string;
  content?: string | unknown[] | null;
  [k: string]: unknown;
}

// Generated from the server's Structs (common/wire/prompts.py) via console/openapi.json.
type Schemas = components["schemas"];
export type PromptVersion = Schemas["PromptVersion"] & { content: PromptContent };
export type PushResult = Schemas["PushResult"];
export type PromptSummary = Schemas["PromptSummary"];
export type LabelEvent = Schemas["LabelEvent"];
export type PlaygroundSource = Omit<Schemas["PlaygroundSource"], "messages"> & { messages: ChatMessage[] };
export type PlaygroundResult = Schemas["PlaygroundResult"];
export type PlaygroundConfig = Schemas["PlaygroundConfig"];

/** What `content` holds (common/prompts.py: content_of); the schema says only "object". */
export interface PromptContent {
  type: string;
  messages?: ChatMessage[];
  text?: string;
  model?: string;
  params?: Record<string, unknown>;
  tags?: string[];
  metadata?: Record<string, unknown>;
}

/** The text of a message's content (parts joined). */
export function contentText(c: ChatMessage["content"]): string {
  if (typeof c === "string") return c;
  if (Array.isArray(c)) return c.map((p) => (p && typeof p === "object" && "text" in p ? String((p as { text: unknown }).text) : "")).join("");
  return "";
}
