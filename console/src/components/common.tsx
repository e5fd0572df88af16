// Small building blocks every view uses: error banners, empty states, folding text,
// pretty JSON with copy, status and kind badges.
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { apiKey, setApiKey, type ApiError } from "../lib/api";

/** Shown on a 401: the collector has API keys, so ask for one and keep it locally. */
function KeyForm() {
  const [key, setKey] = useState(apiKey());
  return (
    <form
      class="inline-form"
      onSubmit={(e) => {
        e.preventDefault();
        setApiKey(key.trim());
        location.reload();
      }}
    >
      <label>
        <span>API key (from `spyglass keys create`)</span>
        <input type="password" name="api-key" value={key} onInput={(e) => setKey((e.target as HTMLInputElement).value)} />
      </label>
      <button type="submit" class="btn">Use key</button>
    </form>
  );
}

export function ErrorBanner({ error, what }: { error?: ApiError | Error | null; what?: string }) {
  if (!error) return null;
  const status = (error as ApiError).status;
  return (
    <div class="error-banner" role="alert">
      <strong>{what ? `Could not load ${what}` : "Request failed"}</strong>
      <span>{error.message}</span>
      {"path" in error && (error as ApiError).path ? <code>{(error as ApiError).path}</code> : null}
      {status === 401 || status === 403 ? <KeyForm /> : null}
    </div>
  );
}

export function Loading({ label = "Loading…" }: { label?: string }) {
  return (
    <div class="loading" aria-busy="true">
      {label}
    </div>
  );
}

export function EmptyState({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="empty-state">
      <h2>{title}</h2>
      {children}
    </div>
  );
}

/** What a new user needs to send a first trace: tracer.init + @op. */
export function FirstTraceHelp({ project }: { project: string }) {
  const origin = location.origin;
  const endpointArg = /:4318$/.test(origin) && /127\.0\.0\.1|localhost/.test(origin) ? "" : `, endpoint="${origin}"`;
  const code = `import tracer
from tracer import op

tracer.init(project="${project || "my-app"}"${endpointArg})   # 1. point the tracer here

@op                                     # 2. decorate the functions to trace
def answer(question: str) -> str:
    ...

answer("What is the capital of France?")
tracer.flush()`;
  return (
    <div class="first-trace">
      <p>
        No traces yet{project ? (
          <>
            {" "}in project <b>{project}</b>
          </>
        ) : null}
        . Two lines of Python send your first one: <code>tracer.init(project=…)</code> and{" "}
        <code>@op</code> on the function to trace.
      </p>
      <CodeBlock text={code} />
      <p class="muted">
        Any OpenTelemetry exporter works too: point OTLP/HTTP at <code>{origin}/v1/traces</code>.
      </p>
    </div>
  );
}

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Clipboard API needs a secure context; fall back to a selection copy.
    const ta = document.createElement("textarea");
    ta.value = text;
    ta.style.position = "fixed";
    ta.style.opacity = "0";
    document.body.appendChild(ta);
    ta.select();
    let ok = false;
    try {
      ok = document.execCommand("copy");
    } catch {
      ok = false;
    }
    ta.remove();
    return ok;
  }
}

export function CopyButton({ text, label = "Copy" }: { text: string; label?: string }) {
  const [state, setState] = useState<"idle" | "ok" | "fail">("idle");
  return (
    <button
      type="button"
      class="btn btn-small copy-btn"
      onClick={async () => {
        setState((await copyText(text)) ? "ok" : "fail");
        setTimeout(() => setState("idle"), 1500);
      }}
    >
      {state === "ok" ? "Copied" : state === "fail" ? "Copy failed" : label}
    </button>
  );
}

export function CodeBlock({ text }: { text: string }) {
  return (
    <div class="code-block">
      <CopyButton text={text} />
      <pre>{text}</pre>
    </div>
  );
}

const FOLD_CHARS = 800;
const FOLD_LINES = 14;

/** Long text shows its head and a button to unfold the rest. */
export function FoldedText({ text, class: cls }: { text: string; class?: string }) {
  const [open, setOpen] = useState(false);
  const lines = text.split("\n");
  const long = text.length > FOLD_CHARS || lines.length > FOLD_LINES;
  let shown = text;
  if (long && !open) {
    shown = lines.slice(0, FOLD_LINES).join("\n");
    if (shown.length > FOLD_CHARS) shown = shown.slice(0, FOLD_CHARS);
  }
  return (
    <div class={`folded ${cls ?? ""}`}>
      <pre class="text">{shown}{long && !open ? "…" : ""}</pre>
      {long ? (
        <button type="button" class="btn-link" onClick={() => setOpen(!open)}>
          {open ? "Show less" : `Show all (${text.length.toLocaleString("en-US")} chars, ${lines.length} lines)`}
        </button>
      ) : null}
    </div>
  );
}

export function prettyJson(v: unknown): string {
  if (typeof v === "string") return v;
  try {
    return JSON.stringify(v, null, 2) ?? String(v);
  } catch {
    return String(v);
  }
}

/** Pretty JSON (strings as they are), folded when long, with a copy button. */
export function JsonView({ value }: { value: unknown }) {
  const text = prettyJson(value);
  return (
    <div class="json-view">
      <CopyButton text={text} />
      <FoldedText text={text} class="json" />
    </div>
  );
}

export function StatusBadge({ status }: { status: string }) {
  const s = status || "unset";
  return <span class={`badge status-${s}`}>{s}</span>;
}

export function KindBadge({ kind }: { kind: string }) {
  if (!kind) return null;
  return <span class={`badge kind kind-${kind}`}>{kind}</span>;
}

export function Tags({ tags }: { tags?: string[] | null }) {
  if (!tags || tags.length === 0) return null;
  return (
    <span class="tags">
      {tags.map((t) => (
        <span class="tag" key={t}>
          {t}
        </span>
      ))}
    </span>
  );
}

export function Section({ title, children, right }: { title: string; children?: ComponentChildren; right?: ComponentChildren }) {
  return (
    <section class="section">
      <header class="section-head">
        <h3>{title}</h3>
        {right}
      </header>
      {children}
    </section>
  );
}

/** A table cell value: scalars and short JSON inline, bigger values as folded JSON. */
export function Value({ value }: { value: unknown }) {
  if (value === null || value === undefined) return <span class="muted">–</span>;
  if (typeof value === "string") return value.length > 300 ? <FoldedText text={value} /> : <span class="pre-line">{value}</span>;
  if (typeof value !== "object") return <span>{String(value)}</span>;
  const compact = JSON.stringify(value);
  if (compact.length <= 90) return <code class="inline-json">{compact}</code>;
  return <JsonView value={value} />;
}

/** Previous/next buttons over an offset-paged list of `total` items. */
export function OffsetPager({ offset, limit, total, onChange }: { offset: number; limit: number; total: number; onChange: (offset: number) => void }) {
  if (total <= limit) return null;
  const last = Math.min(offset + limit, total);
  return (
    <div class="pager">
      <button type="button" class="btn" disabled={offset === 0} onClick={() => onChange(Math.max(0, offset - limit))}>
        ← Previous
      </button>
      <span class="muted">
        {offset + 1}–{last} of {total.toLocaleString("en-US")}
      </span>
      <button type="button" class="btn" disabled={last >= total} onClick={() => onChange(offset + limit)}>
        Next →
      </button>
    </div>
  );
}

/** The stack of cursors a keyset-paged list has followed, emptied (back to the first page)
 * whenever ``resetKey`` (the filters and project) changes; ``cursor`` is the current page's. */
export function useCursors(resetKey: string): { cursor: string | undefined; cursors: string[]; setCursors: (c: string[]) => void } {
  const [cursors, setCursors] = useState<string[]>([]);
  useEffect(() => setCursors([]), [resetKey]);
  return { cursor: cursors[cursors.length - 1], cursors, setCursors };
}

/** Keyset paging: ``cursors`` is the stack of cursors that led to the current page (empty
 * on the first), ``next`` the answer's ``next_cursor``. Hidden while there is one page. */
export function Pager({ cursors, setCursors, next }: { cursors: string[]; setCursors: (c: string[]) => void; next: string | null | undefined }) {
  if (cursors.length === 0 && !next) return null;
  return (
    <div class="pager">
      <button type="button" class="btn" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
        ← Newer
      </button>
      <span class="muted">Page {cursors.length + 1}</span>
      <button type="button" class="btn" disabled={!next} onClick={() => next && setCursors([...cursors, next])}>
        Older →
      </button>
    </div>
  );
}
