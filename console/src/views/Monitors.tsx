// Monitors stored in the collector: list (pause, delete), create, and each monitor's latest
// scores. The collector's monitors worker runs them; see docs/scorers.md.
import { useState } from "preact/hooks";
import { EmptyState, ErrorBanner, Loading, Section } from "../components/common";
import { ApiError, apiDelete, apiKey, useApi } from "../lib/api";
import { fmtAgo, fmtCost, fmtInt, fmtTime } from "../lib/format";
import type { FeedbackList, MonitorIn, MonitorList, MonitorOut, MonitorStatus } from "../lib/types";

async function send(method: "POST" | "PUT", path: string, body: MonitorIn): Promise<MonitorOut> {
  const key = apiKey();
  const res = await fetch(path, {
    method,
    headers: { "Content-Type": "application/json", ...(key ? { Authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify(body),
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(`${res.status}: ${data.error ?? res.statusText}`, res.status, path);
  return data as MonitorOut;
}

function bodyOf(m: MonitorOut, enabled: boolean): MonitorIn {
  const { id: _id, created_at: _c, ...rest } = m;
  return { ...rest, enabled };
}

/** What the collector's worker reports about a monitor: its state and counters. */
function Status({ monitor }: { monitor: MonitorOut }) {
  const status = useApi<MonitorStatus>(`/api/monitors/${encodeURIComponent(monitor.id)}/status`);
  const st = status.data;
  const budget = st?.judge_budget_usd_per_day ?? monitor.judge_budget_usd_per_day ?? null;
  const counters: [string, number | undefined, string][] = st ? [
    ["Sampled", st.sampled, "spans the monitor picked by its filter and sample rate"],
    ["Scored", st.scored, "scores computed"],
    ["Stored", st.posted, "scores written (one per span and scorer)"],
    ["Already stored", st.duplicates, "scores that were stored before (a retry or a restart)"],
    ["Dropped (backlog)", st.dropped_backlog, "sampled spans shed because scoring fell behind"],
    ["Judge skipped (budget)", st.judge_skipped_budget, "judge scores skipped over the day's budget"],
    ["Judge calls", st.judge_calls, "LLM-judge calls made"],
    ["Errors", st.errors, "failed polls, scorers or writes"],
  ] : [];
  return (
    <Section title={`Status of ${monitor.name}`} right={<button type="button" class="btn" onClick={status.reload}>Refresh</button>}>
      <ErrorBanner error={status.error} what="the monitor's status" />
      {status.loading && !st ? <Loading /> : null}
      {st ? (
        <>
          <dl class="facts inline monitor-status" aria-label="Monitor status">
            <div><dt>State</dt><dd data-testid="monitor-state" class={st.state === "error" || st.state === "budget_exceeded" || st.state === "stale" ? "error-text" : ""}>{st.state.replace("_", " ")}</dd></div>
            {counters.map(([label, n, title]) => (
              <div key={label} title={title}><dt>{label}</dt><dd data-counter={label}>{fmtInt(n ?? 0)}</dd></div>
            ))}
            <div>
              <dt>Judge spend today</dt>
              <dd>{fmtCost(st.judge_cost_usd_today ?? 0)}{budget !== null ? ` of ${fmtCost(budget)}` : " (no cap)"}</dd>
            </div>
            <div><dt>Last run</dt><dd title={fmtTime(st.last_run)}>{st.last_run ? fmtAgo(st.last_run) : "–"}</dd></div>
          </dl>
          {st.last_error ? <p class="error-text small">Last error ({fmtTime(st.last_error_at)}): {st.last_error}</p> : null}
        </>
      ) : null}
    </Section>
  );
}

function Scores({ monitor }: { monitor: MonitorOut }) {
  const scores = useApi<FeedbackList>("/api/feedback", { project: monitor.project, limit: 1000 });
  const mine = (scores.data?.feedback ?? []).filter((f) => f.author === `monitor:${monitor.name}`);
  const byName = new Map<string, { n: number; sum: number }>();
  for (const f of mine) {
    const v = typeof f.value === "boolean" ? Number(f.value) : typeof f.value === "number" ? f.value : null;
    const e = byName.get(f.name) ?? { n: 0, sum: 0 };
    e.n += 1;
    if (v !== null) e.sum += v;
    byName.set(f.name, e);
  }
  return (
    <Section title={`Scores of ${monitor.name}`} right={<button type="button" class="btn" onClick={scores.reload}>Refresh</button>}>
      <ErrorBanner error={scores.error} what="scores" />
      {scores.loading && !scores.data ? <Loading /> : null}
      {scores.data && !mine.length ? <p class="muted">No scores yet: spans that start after the monitor was created are scored within seconds.</p> : null}
      {mine.length ? (
        <table class="table" aria-label="Monitor scores">
          <thead><tr><th>Score</th><th>Spans scored</th><th>Mean</th></tr></thead>
          <tbody>
            {[...byName].map(([name, e]) => (
              <tr key={name}><td>{name}</td><td class="num">{e.n}</td><td class="num">{(e.sum / e.n).toFixed(3)}</td></tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </Section>
  );
}

export function MonitorsView({ project }: { project: string }) {
  const list = useApi<MonitorList>(project ? "/api/monitors" : null, { project });
  const [error, setError] = useState<Error | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [form, setForm] = useState({ name: "", scorers: "pii", kind: "", sample_rate: "1", budget: "" });
  const monitors = list.data?.monitors ?? [];
  const act = async (f: () => Promise<unknown>) => {
    setError(null);
    try {
      await f();
      list.reload();
    } catch (e) {
      setError(e as Error);
    }
  };
  const create = (e: Event) => {
    e.preventDefault();
    const scorers = form.scorers.split(",").map((s) => s.trim()).filter(Boolean);
    return act(async () => {
      const made = await send("POST", "/api/monitors", {
        project, name: form.name, scorers, sample_rate: Number(form.sample_rate),
        filter: form.kind ? { kind: form.kind } : {}, enabled: true,
        ...(form.budget ? { judge_budget_usd_per_day: Number(form.budget) } : {}),
      });
      setSelected(made.id);
      setForm({ ...form, name: "" });
    });
  };
  const shown = monitors.find((m) => m.id === selected);
  return (
    <div class="view monitors-view">
      <h1>Monitors</h1>
      <p class="muted">The collector scores a sample of new spans with each enabled monitor and stores one score per span and scorer.</p>
      <ErrorBanner error={list.error ?? error} what="monitors" />
      <Section title="Monitors">
        {list.loading && !list.data ? <Loading /> : null}
        {list.data && !monitors.length ? <EmptyState title="No monitors in this project yet" /> : null}
        {monitors.length ? (
          <table class="table" aria-label="Monitors">
            <thead><tr><th>Name</th><th>Scorers</th><th>Filter</th><th>Sample</th><th>Since</th><th>State</th><th /></tr></thead>
            <tbody>
              {monitors.map((m) => (
                <tr key={m.id}>
                  <td><a href="#" onClick={(e) => { e.preventDefault(); setSelected(m.id); }}>{m.name}</a></td>
                  <td>{m.scorers.map((s) => (typeof s === "string" ? s : String((s as Record<string, unknown>).type))).join(", ")}</td>
                  <td>{Object.entries(m.filter ?? {}).map(([k, v]) => `${k}=${v}`).join(", ") || "all spans"}</td>
                  <td class="num">{m.sample_rate}</td>
                  <td>{fmtTime(m.created_at)}</td>
                  <td>{m.enabled ? "running" : "paused"}</td>
                  <td>
                    <button type="button" class="btn" onClick={() => act(() => send("PUT", `/api/monitors/${m.id}`, bodyOf(m, !m.enabled)))}>
                      {m.enabled ? "Pause" : "Resume"}
                    </button>{" "}
                    <button type="button" class="btn" aria-label={`Delete ${m.name}`} onClick={() => act(() => apiDelete(`/api/monitors/${m.id}`))}>Delete</button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </Section>
      {/* Keyed by enabled too: pausing or resuming changes the reported state. */}
      {shown ? <Status key={`${shown.id}-${shown.enabled}`} monitor={shown} /> : null}
      {shown ? <Scores key={shown.id} monitor={shown} /> : null}
      <Section title="New monitor">
        <form class="alert-form" aria-label="Create monitor" onSubmit={create}>
          <label>Name <input required pattern="[A-Za-z0-9_.:\-]+" value={form.name} aria-label="Monitor name" onInput={(e) => setForm({ ...form, name: (e.target as HTMLInputElement).value })} /></label>
          <label>Scorers <input required value={form.scorers} aria-label="Scorers" placeholder="pii, secrets, llm_judge.toxicity" onInput={(e) => setForm({ ...form, scorers: (e.target as HTMLInputElement).value })} /></label>
          <label>Span kind <input value={form.kind} aria-label="Span kind" placeholder="any" onInput={(e) => setForm({ ...form, kind: (e.target as HTMLInputElement).value })} /></label>
          <label>Sample rate <input type="number" min="0" max="1" step="any" value={form.sample_rate} aria-label="Sample rate" onInput={(e) => setForm({ ...form, sample_rate: (e.target as HTMLInputElement).value })} /></label>
          <label>Judge budget (USD/day) <input type="number" min="0" step="any" value={form.budget} aria-label="Judge budget" placeholder="no cap" onInput={(e) => setForm({ ...form, budget: (e.target as HTMLInputElement).value })} /></label>
          <button type="submit" class="btn btn-primary" disabled={!project}>Create monitor</button>
        </form>
      </Section>
    </div>
  );
}
