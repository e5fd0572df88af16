// Prompts: names, their content-addressed versions, labels (with the audit log of every
// move), and a link to try any version in the playground.
import { EmptyState, ErrorBanner, JsonView, Loading, Section } from "../components/common";
import { useApi } from "../lib/api";
import { fmtTime } from "../lib/format";
import { Link } from "../lib/router";
import { contentText, type LabelEvent, type PromptSummary, type PromptVersion } from "../lib/prompts";

function VersionCard({ v, project }: { v: PromptVersion; project: string }) {
  const q = new URLSearchParams({ ...(project ? { project } : {}), prompt: v.name, version: v.version });
  return (
    <article class="prompt-version panel" aria-label={`Version ${v.version}`}>
      <header class="section-head">
        <h3>
          {v.version} <code class="muted small">{v.version_id.slice(0, 12)}</code>{" "}
          {v.labels.map((l) => <span key={l} class="tag">{l}</span>)}
        </h3>
        <Link href={`/playground?${q}`} class="btn btn-small">Open in playground</Link>
      </header>
      <p class="muted small">
        by {v.author} · {fmtTime(v.created_at)} · model {v.content.model ?? "–"} · variables {v.variables.join(", ") || "–"}
      </p>
      {v.content.messages ? (
        <ol class="prompt-messages">
          {v.content.messages.map((m, i) => (
            <li key={i}><b>{m.role}</b>: <span class="pre">{contentText(m.content)}</span></li>
          ))}
        </ol>
      ) : (
        <pre class="pre">{v.content.text}</pre>
      )}
      {v.content.params ? <JsonView value={v.content.params} /> : null}
    </article>
  );
}

export function PromptsView({ project, name }: { project: string; query: URLSearchParams; name: string | null }) {
  const pq = project ? `?project=${encodeURIComponent(project)}` : "";
  const list = useApi<{ prompts: PromptSummary[] }>("/api/prompts", { project: project || undefined });
  const versions = useApi<{ versions: PromptVersion[] }>(name ? `/api/prompts/${encodeURIComponent(name)}/versions` : null, { project: project || undefined });
  const audit = useApi<{ events: LabelEvent[] }>(name ? `/api/prompts/${encodeURIComponent(name)}/labels` : null, { project: project || undefined });
  const prompts = list.data?.prompts ?? [];
  return (
    <div class="view prompts-view">
      <div class="view-head"><h1>Prompts</h1></div>
      <ErrorBanner error={list.error} what="prompts" />
      {list.loading && !list.data ? <Loading /> : null}
      {list.data && !prompts.length ? (
        <EmptyState title="No prompts yet">
          <p>
            Push one with <code>spyglass prompts push NAME prompt.yaml</code> or <code>tracer.prompts.push("name", messages=[...])</code>,
            or save an edit from the playground.
          </p>
        </EmptyState>
      ) : null}
      {prompts.length ? (
        <div class="split">
          <nav class="panel" aria-label="Prompts">
            <ul class="list">
              {prompts.map((p) => (
                <li key={p.name}>
                  <Link href={`/prompts/${encodeURIComponent(p.name)}${pq}`} class={p.name === name ? "active" : ""}>
                    {p.name} <span class="muted small">· {p.latest} · {Object.entries(p.labels).map(([k, v]) => `${k}=${v}`).join(" ")}</span>
                  </Link>
                </li>
              ))}
            </ul>
          </nav>
          <div class="detail">
            {!name ? <p class="muted">Pick a prompt.</p> : null}
            <ErrorBanner error={versions.error} what="versions" />
            {[...(versions.data?.versions ?? [])].reverse().map((v) => <VersionCard key={v.version_id} v={v} project={project} />)}
            {name && audit.data ? (
              <Section title="Label history">
                <table class="table" aria-label="Label history">
                  <thead><tr><th>Label</th><th>From</th><th>To</th><th>By</th><th>When</th></tr></thead>
                  <tbody>
                    {audit.data.events.map((e, i) => (
                      <tr key={i}><td>{e.label}</td><td>{e.from_version ?? "–"}</td><td>{e.to_version}</td><td>{e.author}</td><td>{fmtTime(e.at)}</td></tr>
                    ))}
                  </tbody>
                </table>
              </Section>
            ) : null}
          </div>
        </div>
      ) : null}
    </div>
  );
}
