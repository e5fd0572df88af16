// Chat messages (OpenAI-style {role, content}, Anthropic content blocks, and the GenAI
// semantic conventions' {role, parts}) rendered as a conversation with roles.
import { FoldedText, prettyJson } from "./common";
import { parseJson } from "../lib/format";

export interface ToolCall {
  name: string;
  args: unknown;
  id?: string;
}

export interface ChatMessage {
  role: string;
  text: string;
  toolCalls: ToolCall[];
  /** Tool calls, images and other non-text parts, shown as JSON. */
  extras: unknown[];
  name?: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** OpenAI `{function: {name, arguments}}`, Anthropic `tool_use` and GenAI `tool_call` parts. */
function toolCall(v: unknown): ToolCall | null {
  if (!isObj(v)) return null;
  const fn = isObj(v.function) ? v.function : null;
  if (fn && typeof fn.name === "string") return { name: fn.name, args: parseJson(fn.arguments), id: typeof v.id === "string" ? v.id : undefined };
  if ((v.type === "tool_use" || v.type === "tool_call") && typeof v.name === "string") {
    return { name: v.name, args: parseJson(v.input ?? v.arguments), id: typeof v.id === "string" ? v.id : undefined };
  }
  return null;
}

function partText(part: unknown, extras: unknown[], calls: ToolCall[]): string {
  if (typeof part === "string") return part;
  if (!isObj(part)) return "";
  const call = toolCall(part);
  if (call) {
    calls.push(call);
    return "";
  }
  const type = String(part.type ?? "text");
  if ((type === "text" || type === "input_text" || type === "output_text") && typeof part.text === "string") return part.text;
  if (type === "text" && typeof part.content === "string") return part.content;
  extras.push(part);
  return "";
}

function toMessage(v: unknown): ChatMessage | null {
  if (!isObj(v) || typeof v.role !== "string") return null;
  const extras: unknown[] = [];
  const calls: ToolCall[] = [];
  let text = "";
  const content = v.content ?? v.parts;
  if (typeof content === "string") text = content;
  else if (Array.isArray(content)) text = content.map((p) => partText(p, extras, calls)).filter(Boolean).join("\n");
  else if (content !== undefined && content !== null) extras.push(content);
  for (const c of Array.isArray(v.tool_calls) ? v.tool_calls : []) {
    const call = toolCall(c);
    if (call) calls.push(call);
    else extras.push(c);
  }
  if (isObj(v.function_call)) {
    const call = toolCall({ function: v.function_call });
    if (call) calls.push(call);
  }
  const name = typeof v.name === "string" ? v.name : typeof v.tool_call_id === "string" ? v.tool_call_id : undefined;
  return { role: v.role, text, extras, toolCalls: calls, name };
}

function fromArray(a: unknown[]): ChatMessage[] | null {
  if (a.length === 0) return null;
  const msgs = a.map(toMessage);
  return msgs.every((m) => m !== null) ? (msgs as ChatMessage[]) : null;
}

/**
 * Find chat messages in a span's input or output value: a message list, an object with
 * `messages` (request arguments), an OpenAI completion (`choices[].message`), or a single
 * message (Anthropic response). Returns null when the value is not chat-shaped.
 */
export function extractMessages(raw: unknown, depth = 0): ChatMessage[] | null {
  const v = parseJson(raw);
  if (Array.isArray(v)) return fromArray(v);
  if (!isObj(v)) return null;
  if (Array.isArray(v.messages)) {
    const msgs = fromArray(v.messages);
    if (msgs) {
      // A system prompt passed beside the messages (Anthropic style) belongs first.
      if (typeof v.system === "string") msgs.unshift({ role: "system", text: v.system, extras: [], toolCalls: [] });
      return msgs;
    }
  }
  if (Array.isArray(v.choices)) {
    const msgs = v.choices.map((c) => (isObj(c) ? toMessage(c.message ?? c.delta) : null));
    if (msgs.length && msgs.every((m) => m !== null)) return msgs as ChatMessage[];
  }
  const single = toMessage(v);
  if (single) return [single];
  // Bound arguments often wrap the request: {"request": {"messages": [...]}}.
  if (depth < 2) {
    for (const key of Object.keys(v)) {
      const inner = v[key];
      if (isObj(inner) || Array.isArray(inner)) {
        const found = extractMessages(inner, depth + 1);
        if (found) return found;
      }
    }
  }
  return null;
}

export function Conversation({ messages }: { messages: ChatMessage[] }) {
  return (
    <ol class="chat" aria-label="Conversation">
      {messages.map((m, i) => (
        <li key={i} class={`msg role-${m.role}`}>
          <div class="msg-role">
            {m.role}
            {m.name ? <span class="muted"> · {m.name}</span> : null}
          </div>
          {m.text ? <FoldedText text={m.text} /> : null}
          {m.toolCalls.map((c, j) => (
            <div key={`c${j}`} class="tool-call">
              <span class="tool-call-head">
                calls <b>{c.name}</b>
                {c.id ? <span class="muted"> · {c.id}</span> : null}
              </span>
              <pre>{prettyJson(c.args)}</pre>
            </div>
          ))}
          {m.extras.map((x, j) => (
            <pre key={j} class="msg-extra">
              {prettyJson(x)}
            </pre>
          ))}
        </li>
      ))}
    </ol>
  );
}
