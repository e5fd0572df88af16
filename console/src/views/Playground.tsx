// The playground: open an LLM span (or a prompt version), edit its messages, model and
// parameters, run it against the OpenAI-compatible endpoint configured on the server (the
// key never reaches the browser), compare the new output with the original side by side,
// and save the edit as a new prompt version.
import { useEffect, useState } from "preact/hooks";
import { ErrorBanner, Loading, Section } from "../components/common";
import { ApiError, apiGet, apiPost } from "../lib/api";
import { Link } from "../lib/router";
import { contentText, type ChatMessage, type PlaygroundConfig, type PlaygroundResult, type PlaygroundSource, type PromptVersion, type PushResult } from "../lib/prompts";

const ROLES = ["system", "developer", "user", "assistant", "tool"];

interface Draft {
  messages: { role: string; content: string }[];
  model: string;
  temperature: string;
  maxTokens: string;
  original: string | null;
  promptName: string;
  promptRef: string | null;
  traceId: string | null;
  spanId: string | null;
}

function draftFrom(messages: ChatMessage[], model: string | null | undefined, params: Record<string, unknown> | undefined, rest: Partial<Draft>): Draft {
  return {
    messages: messages.map((m) => ({ role: m.role, content: contentText(m.content) })),
    model: model ?? "",
    temperature: params?.temperature !== undefined ? String(params.temperature) : "",
    maxTokens: params?.max_tokens !== undefined ? String(params.max_tokens) : "",
    original: null,
    promptName: "",
    promptRef: null,
    traceId: null,
    spanId: null,
    ...rest,
  };
}

function traceHref(project: string, traceId: string, spanId?: string | null): string {
  const q = new URLSearchParams({ ...(project ? { project } : {}), ...(spanId ? { span: spanId } : {}) });
  return `/traces/${traceId}?${q}`;
}

export function PlaygroundView({ project, query }: { project: string; query: URLSearchParams }) {
  const traceId = query.get("trace");
  const spanId = query.get("span");
  const promptName = query.get("prompt");
  const version = query.get("version");
  const [draft, setDraft] = useState<Draft | null>(null);
  const [loadError, setLoadError] = useState<Error | null>(null);
  const [config, setConfig] = useState<PlaygroundConfig | null>(null);
  const [result, setResult] = useState<PlaygroundResult | null>(null);
  const [running, setRunning] = useState(false);
  const [runError, setRunError] = useState<Error | null>(null);
  const [saveName, setSaveName] = useState("");
  const [saveLabel, setSaveLabel] = useState("");
  const [saved, setSaved] = useState<PushResult | null>(null);
  const [saveError, setSaveError] = useState<Error | null>(null);

  useEffect(() => {
    apiGet<PlaygroundConfig>("/api/playground/config").then(setConfig, (e) => setLoadError(e as Error));
  }, []);
  useEffect(() => {
    setDraft(null);
    setResult(null);
    setSaved(null);
    const p = project || undefined;
    if (traceId && spanId) {
      apiGet<PlaygroundSource>("/api/playground/source", { trace_id: traceId, span_id: spanId, project: p }).then((s) => {
        const name = s.prompt ? s.prompt.split(":")[0] : s.name.replace(/[^A-Za-z0-9._-]/g, "-");
        setSaveName(name);
        setDraft(draftFrom(s.messages, s.model, s.params, { original: s.output, promptRef: s.prompt, traceId: s.trace_id, spanId: s.span_id, promptName: name }));
      }, (e) => setLoadError(e as Error));
    } else if (promptName) {
      apiGet<PromptVersion>(`/api/prompts/${encodeURIComponent(promptName)}`, { version: version ?? undefined, project: p }).then((v) => {
        setSaveName(v.name);
        const messages = v.content.messages ?? [{ role: "user", content: v.content.text ?? "" }];
        setDraft(draftFrom(messages, v.content.model, v.content.params, { promptRef: `${v.name}:${v.version}`, promptName: v.name }));
      }, (e) => setLoadError(e as Error));
    } else {
      setDraft(draftFrom([{ role: "user", content: "" }], "", {}, {}));
    }
  }, [traceId, spanId, promptName, version, project]);

  if (loadError) return <div class="view"><ErrorBanner error={loadError} what="the playground" /></div>;
  if (!draft) return <div class="view"><Loading /></div>;

  const update = (changes: Partial<Draft>) => setDraft({ ...draft, ...changes });
  const setMessage = (i: number, changes: Partial<{ role: string; content: string }>) =>
    update({ messages: draft.messages.map((m, j) => (j === i ? { ...m, ...changes } : m)) });
  const params = (): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    if (draft.temperature.trim()) out.temperature = Number(draft.temperature);
    if (draft.maxTokens.trim()) out.max_tokens = Number(draft.maxTokens);
    return out;
  };

  const run = async () => {
    setRunning(true);
    setRunError(null);
    try {
      const body = {
        messages: draft.messages,
        model: draft.model || null,
        params: params(),
        project: project || null,
        replay_trace_id: draft.traceId,
        replay_span_id: draft.spanId,
        prompt: draft.promptRef,
      };
      const r = await apiPost<PlaygroundResult>("/api/playground/run", body);
      setResult(r);
      if (r.error) setRunError(new ApiError(r.error, 502, "/api/playground/run"));
    } catch (e) {
      setRunError(e as Error);
    } finally {
      setRunning(false);
    }
  };

  const save = async () => {
    setSaveError(null);
    try {
      const body = {
        name: saveName,
        messages: draft.messages,
        model: draft.model || null,
        params: params(),
        project: project || null,
        label: saveLabel || null,
        author: "console",
      };
      setSaved(await apiPost<PushResult>("/api/prompts", body));
    } catch (e) {
      setSaveError(e as Error);
    }
  };

  return (
    <div class="view playground-view">
      <div class="view-head">
        <h1>Playground</h1>
        {draft.traceId ? (
          <p class="muted">
            Replaying span <Link href={traceHref(project, draft.traceId, draft.spanId)}><code>{draft.spanId}</code></Link>
            {draft.promptRef ? <> · prompt <code>{draft.promptRef}</code></> : null}
          </p>
        ) : draft.promptRef ? <p class="muted">Prompt <code>{draft.promptRef}</code></p> : null}
      </div>
      {config && !config.configured ? (
        <div class="error-banner" role="alert">
          <strong>No endpoint configured</strong>
          <span>Start the collector with SPYGLASS_PLAYGROUND_BASE_URL (and SPYGLASS_PLAYGROUND_API_KEY) to run calls.</span>
        </div>
      ) : null}
      <Section title="Messages">
        <ol class="playground-messages">
          {draft.messages.map((m, i) => (
            <li key={i} class="playground-message">
              <select aria-label={`Role ${i + 1}`} value={m.role} onChange={(e) => setMessage(i, { role: (e.target as HTMLSelectElement).value })}>
                {ROLES.map((r) => <option key={r} value={r}>{r}</option>)}
              </select>
              <textarea aria-label={`Message ${i + 1}`} rows={Math.min(12, Math.max(2, m.content.split("\n").length + 1))} value={m.content}
                onInput={(e) => setMessage(i, { content: (e.target as HTMLTextAreaElement).value })} />
              <button type="button" class="btn btn-small" aria-label={`Remove message ${i + 1}`}
                onClick={() => update({ messages: draft.messages.filter((_, j) => j !== i) })}>✕</button>
            </li>
          ))}
        </ol>
        <button type="button" class="btn btn-small" onClick={() => update({ messages: [...draft.messages, { role: "user", content: "" }] })}>Add message</button>
      </Section>
      <div class="playground-params">
        <label>Model <input aria-label="Model" value={draft.model} placeholder={config?.default_model ?? ""} onInput={(e) => update({ model: (e.target as HTMLInputElement).value })} /></label>
        <label>Temperature <input aria-label="Temperature" inputMode="decimal" value={draft.temperature} onInput={(e) => update({ temperature: (e.target as HTMLInputElement).value })} /></label>
        <label>Max tokens <input aria-label="Max tokens" inputMode="numeric" value={draft.maxTokens} onInput={(e) => update({ maxTokens: (e.target as HTMLInputElement).value })} /></label>
        <button type="button" class="btn btn-primary" disabled={running || !config?.configured} onClick={run}>{running ? "Running…" : "Run"}</button>
      </div>
      <ErrorBanner error={runError} />
      <div class="side-by-side">
        <section class="panel" aria-label="Original output">
          <h3>Original output</h3>
          {draft.original !== null ? <pre class="pre">{draft.original}</pre> : <p class="muted">No original call (opened from a prompt).</p>}
        </section>
        <section class="panel" aria-label="New output">
          <h3>New output</h3>
          {result ? (
            <>
              <pre class="pre">{result.output ?? ""}</pre>
              <p class="muted small">
                {result.model ?? ""} · {result.input_tokens} in · {result.output_tokens} out · {Math.round(result.duration_ms)} ms ·{" "}
                <Link href={traceHref(result.project, result.trace_id)}>replay trace</Link>
              </p>
            </>
          ) : <p class="muted">Run to see the new output here.</p>}
        </section>
      </div>
      <Section title="Save as a prompt version">
        <div class="playground-params">
          <label>Name <input aria-label="Prompt name" value={saveName} onInput={(e) => setSaveName((e.target as HTMLInputElement).value)} /></label>
          <label>Label <input aria-label="Label" value={saveLabel} placeholder="optional, e.g. staging" onInput={(e) => setSaveLabel((e.target as HTMLInputElement).value)} /></label>
          <button type="button" class="btn" disabled={!saveName} onClick={save}>Save version</button>
        </div>
        <ErrorBanner error={saveError} />
        {saved ? (
          <p role="status" class="saved">
            {saved.created ? "Saved" : "Unchanged: already"}{" "}
            <Link href={`/prompts/${encodeURIComponent(saved.name)}${project ? `?project=${encodeURIComponent(project)}` : ""}`}>{saved.name} {saved.version}</Link>{" "}
            <code class="muted small">{saved.version_id.slice(0, 12)}</code>
          </p>
        ) : null}
      </Section>
    </div>
  );
}
