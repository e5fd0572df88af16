// Everything about one span: timing, model and usage, error with stack, inputs and
// outputs (chat rendered as a conversation), attributes, events and feedback.
import { useState } from "preact/hooks";
import { Conversation, extractMessages } from "./chat";
import { FoldedText, JsonView, KindBadge, Section, StatusBadge } from "./common";
import { Link } from "../lib/router";
import { FeedbackPanel } from "./feedback";
import { fmtCost, fmtInt, fmtMs, fmtTime, parseJson, parseTime } from "../lib/format";
import type { Span } from "../lib/types";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

interface SpanEvent {
  name: string;
  time?: string;
  attributes: Obj;
}

function spanEvents(span: Span): SpanEvent[] {
  const raw = parseJson(span.events);
  if (!Array.isArray(raw)) return [];
  return raw.map((e) => {
    const o = isObj(e) ? e : {};
    return {
      name: String(o.name ?? "event"),
      time: (o.time ?? o.timestamp ?? o.time_unix_nano) as string | undefined,
      attributes: isObj(o.attributes) ? o.attributes : isObj(parseJson(o.attributes)) ? (parseJson(o.attributes) as Obj) : {},
    };
  });
}

function spanAttributes(span: Span): Obj {
  const a = parseJson(span.attributes);
  return isObj(a) ? a : {};
}

/** A value that is chat-shaped renders as a conversation (with a raw JSON toggle). */
function IoValue({ value, messagesAttr }: { value: unknown; messagesAttr?: unknown }) {
  const [raw, setRaw] = useState(false);
  const parsed = parseJson(value);
  const messages = extractMessages(messagesAttr ?? null) ?? extractMessages(parsed);
  if (messages && !raw) {
    return (
      <div class="io">
        <button type="button" class="btn-link io-toggle" onClick={() => setRaw(true)}>
          Show JSON
        </button>
        <Conversation messages={messages} />
      </div>
    );
  }
  return (
    <div class="io">
      {messages ? (
        <button type="button" class="btn-link io-toggle" onClick={() => setRaw(false)}>
          Show conversation
        </button>
      ) : null}
      {typeof parsed === "string" ? <FoldedText text={parsed} /> : <JsonView value={parsed} />}
    </div>
  );
}

function isEmpty(v: unknown): boolean {
  const p = parseJson(v);
  return p === null || p === undefined || p === "" || (isObj(p) && Object.keys(p).length === 0);
}

export function SpanDetail({ span, traceId, project, traceStartMs }: { span: Span; traceId: string; project: string; traceStartMs?: number }) {
  const tracesWhere = (param: string, value: string) =>
    `/traces?${new URLSearchParams({ ...(project ? { project } : {}), range: "7d", [param]: value })}`;
  const start = parseTime(span.start_time)?.getTime();
  const offsetMs = traceStartMs !== undefined && start !== undefined && Number.isFinite(traceStartMs) ? start - traceStartMs : null;
  const attrs = spanAttributes(span);
  const events = spanEvents(span);
  const exceptions = events.filter((e) => e.name === "exception");
  const inMessages = attrs["gen_ai.input.messages"];
  const outMessages = attrs["gen_ai.output.messages"];
  const totalTokens = span.total_tokens ?? (span.input_tokens ?? 0) + (span.output_tokens ?? 0);
  const attrKeys = Object.keys(attrs).sort();
  // Streaming LLM calls record when their first token arrived.
  const ttft = attrs["spyglass.llm.time_to_first_token_ms"];

  return (
    <div class="span-detail" aria-label={`Span ${span.name}`}>
      <header class="detail-head">
        <h2>
          <KindBadge kind={span.kind} /> {span.name}
        </h2>
        <StatusBadge status={span.status} />
        {span.kind === "llm" ? (
          <Link href={`/playground?${new URLSearchParams({ ...(project ? { project } : {}), trace: traceId, span: span.span_id })}`} class="btn btn-small">
            Open in playground
          </Link>
        ) : null}
      </header>
      <dl class="facts grid">
        <div><dt>Kind</dt><dd>{span.kind || "–"}</dd></div>
        <div><dt>Duration</dt><dd>{fmtMs(span.duration_ms)}</dd></div>
        <div><dt>Start</dt><dd>{fmtTime(span.start_time, true)}</dd></div>
        <div><dt>End</dt><dd>{fmtTime(span.end_time, true)}</dd></div>
        {span.model ? <div><dt>Model</dt><dd>{span.model}</dd></div> : null}
        {span.provider ? <div><dt>Provider</dt><dd>{span.provider}</dd></div> : null}
        {totalTokens ? (
          <div>
            <dt>Tokens</dt>
            <dd>
              {fmtInt(span.input_tokens)} in · {fmtInt(span.output_tokens)} out
              {span.cached_tokens ? ` · ${fmtInt(span.cached_tokens)} cached` : ""}
            </dd>
          </div>
        ) : null}
        {span.cost_usd ? <div><dt>Cost</dt><dd>{fmtCost(span.cost_usd)}</dd></div> : null}
        {typeof ttft === "number" ? <div><dt>Time to first token</dt><dd data-testid="ttft">{fmtMs(ttft)}</dd></div> : null}
        {offsetMs !== null ? <div><dt>Starts at</dt><dd>+{fmtMs(offsetMs)}</dd></div> : null}
        {span.user_id ? <div><dt>User</dt><dd><Link href={tracesWhere("user_id", span.user_id)} title="Traces of this user">{span.user_id}</Link></dd></div> : null}
        {span.session_id ? (
          <div>
            <dt>Session</dt>
            <dd>
              <Link href={`/sessions/${encodeURIComponent(span.session_id)}${project ? `?project=${encodeURIComponent(project)}` : ""}`} title="This session as a conversation">{span.session_id}</Link>
              {" · "}
              <Link href={tracesWhere("session_id", span.session_id)} title="Traces of this session" class="muted small">traces</Link>
            </dd>
          </div>
        ) : null}
        {span.tags && span.tags.length ? (
          <div>
            <dt>Tags</dt>
            <dd class="tags">
              {span.tags.map((t) => (
                <Link key={t} href={tracesWhere("tag", t)} class="tag" title="Traces with this tag">{t}</Link>
              ))}
            </dd>
          </div>
        ) : null}
        {attrs["spyglass.prompt.name"] ? (
          <div>
            <dt>Prompt</dt>
            <dd>
              <Link href={`/prompts/${encodeURIComponent(String(attrs["spyglass.prompt.name"]))}${project ? `?project=${encodeURIComponent(project)}` : ""}`}>
                {String(attrs["spyglass.prompt.name"])} {String(attrs["spyglass.prompt.version"] ?? "")}
              </Link>
            </dd>
          </div>
        ) : null}
        {attrs["spyglass.replay.trace_id"] ? (
          <div>
            <dt>Replay of</dt>
            <dd><Link href={`/traces/${String(attrs["spyglass.replay.trace_id"])}?${new URLSearchParams({ ...(project ? { project } : {}), span: String(attrs["spyglass.replay.span_id"] ?? "") })}`}>original span</Link></dd>
          </div>
        ) : null}
        <div><dt>Span id</dt><dd><code>{span.span_id}</code></dd></div>
      </dl>
      {!isEmpty(span.metadata) ? (
        <Section title="Metadata">
          <JsonView value={parseJson(span.metadata)} />
        </Section>
      ) : null}

      {span.status === "error" || span.error || exceptions.length ? (
        <Section title="Error">
          <div class="error-box">
            {span.error ? <p class="error-text">{span.error}</p> : null}
            {exceptions.map((e, i) => (
              <div key={i}>
                <p>
                  <b>{String(e.attributes["exception.type"] ?? "Exception")}</b>
                  {e.attributes["exception.message"] && e.attributes["exception.message"] !== span.error ? `: ${e.attributes["exception.message"]}` : ""}
                </p>
                {e.attributes["exception.stacktrace"] ? <FoldedText text={String(e.attributes["exception.stacktrace"])} class="stack" /> : null}
              </div>
            ))}
          </div>
        </Section>
      ) : null}

      <Section title="Input">{isEmpty(span.input) && !inMessages ? <p class="muted">No input recorded.</p> : <IoValue value={span.input} messagesAttr={inMessages} />}</Section>
      <Section title="Output">{isEmpty(span.output) && !outMessages ? <p class="muted">No output recorded.</p> : <IoValue value={span.output} messagesAttr={outMessages} />}</Section>

      <FeedbackPanel traceId={traceId} spanId={span.span_id} project={project} />

      <Section title={`Attributes (${attrKeys.length})`}>
        {attrKeys.length ? (
          <table class="kv">
            <tbody>
              {attrKeys.map((k) => {
                const v = attrs[k];
                const text = typeof v === "string" ? v : JSON.stringify(v);
                return (
                  <tr key={k}>
                    <th>{k}</th>
                    <td>{text.length > 200 ? <FoldedText text={text} /> : <code>{text}</code>}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        ) : (
          <p class="muted">No other attributes.</p>
        )}
      </Section>

      <Section title={`Events (${events.length})`}>
        {events.length ? (
          <ul class="events">
            {events.map((e, i) => (
              <li key={i}>
                <b>{e.name}</b> {e.time ? <span class="muted">{fmtTime(String(e.time), true)}</span> : null}
                {Object.keys(e.attributes).length ? <JsonView value={e.attributes} /> : null}
              </li>
            ))}
          </ul>
        ) : (
          <p class="muted">No events.</p>
        )}
      </Section>
      {!isEmpty(span.resource) ? (
        <details class="section resource">
          <summary>Resource{span.scope_name ? ` · scope ${span.scope_name}` : ""}</summary>
          <JsonView value={parseJson(span.resource)} />
        </details>
      ) : null}
    </div>
  );
}
