// Alerts: a project's rules with their state, a form to create one, and a rule's history
// (fired, resolved, and what became of each webhook notification).
import { useState } from "preact/hooks";
import { EmptyState, ErrorBanner, Loading, Section } from "../components/common";
import { ApiError, apiDelete, apiPost, useApi } from "../lib/api";
import { fmtNum, fmtTime } from "../lib/format";
import { setQuery } from "../lib/router";
import type { AlertHistory, AlertList, AlertRule, AlertRuleIn } from "../lib/types";

const METRICS: { value: AlertRuleIn["metric"]; label: string }[] = [
  { value: "error_rate", label: "Error rate (0–1)" },
  { value: "p95_latency_ms", label: "p95 latency (ms)" },
  { value: "cost_per_hour", label: "Cost per hour (USD)" },
  { value: "token_volume", label: "Token volume" },
  { value: "monitor_score", label: "Monitor mean score" },
  { value: "guardrail_block_rate", label: "Guardrail block rate (0–1)" },
];

function describe(rule: AlertRule): string {
  const what = rule.mode === "change" ? "change of " : "";
  return `${what}${rule.metric} over ${rule.window_s}s ${rule.condition} ${rule.threshold}`;
}

function CreateForm({ project, onCreated }: { project: string; onCreated: (r: AlertRule) => void }) {
  const [form, setForm] = useState({
    name: "", metric: "error_rate" as AlertRuleIn["metric"], threshold: "0.05", window_s: "300",
    condition: "above", mode: "value", cooldown_s: "3600", score: "", webhook_url: "", webhook_format: "json",
  });
  const [error, setError] = useState<ApiError | Error | null>(null);
  const [saving, setSaving] = useState(false);
  const set = (k: keyof typeof form) => (e: Event) => setForm({ ...form, [k]: (e.target as HTMLInputElement).value });
  const submit = async (e: Event) => {
    e.preventDefault();
    setSaving(true);
    setError(null);
    const body: AlertRuleIn = {
      project, name: form.name, metric: form.metric, threshold: Number(form.threshold),
      window_s: Number(form.window_s), condition: form.condition as AlertRuleIn["condition"],
      mode: form.mode as AlertRuleIn["mode"], cooldown_s: Number(form.cooldown_s),
      filters: form.score ? { score: form.score } : {},
      webhook_format: form.webhook_format as AlertRuleIn["webhook_format"], enabled: true,
      ...(form.webhook_url ? { webhook_url: form.webhook_url } : {}),
    };
    try {
      onCreated(await apiPost<AlertRule>("/api/alerts", body));
      setForm({ ...form, name: "" });
    } catch (err) {
      setError(err as Error);
    } finally {
      setSaving(false);
    }
  };
  return (
    <form class="alert-form" aria-label="Create alert" onSubmit={submit}>
      <label>Name <input required value={form.name} onInput={set("name")} aria-label="Alert name" /></label>
      <label>Series
        <select value={form.metric} onChange={set("metric")} aria-label="Series">
          {METRICS.map((m) => <option key={m.value} value={m.value}>{m.label}</option>)}
        </select>
      </label>
      {form.metric === "monitor_score" ? (
        <label>Score name <input required value={form.score} onInput={set("score")} aria-label="Score name" /></label>
      ) : null}
      <label>When
        <select value={form.mode} onChange={set("mode")} aria-label="Compare">
          <option value="value">the value</option>
          <option value="change">its change vs the previous window</option>
        </select>
      </label>
      <label>is
        <select value={form.condition} onChange={set("condition")} aria-label="Condition">
          <option value="above">above</option>
          <option value="below">below</option>
        </select>
      </label>
      <label>Threshold <input type="number" step="any" required value={form.threshold} onInput={set("threshold")} aria-label="Threshold" /></label>
      <label>Window (s) <input type="number" min="1" required value={form.window_s} onInput={set("window_s")} aria-label="Window seconds" /></label>
      <label>Cool-down (s) <input type="number" min="0" required value={form.cooldown_s} onInput={set("cooldown_s")} aria-label="Cool-down seconds" /></label>
      <label>Webhook URL <input type="url" value={form.webhook_url} onInput={set("webhook_url")} aria-label="Webhook URL" placeholder="https://hooks.slack.com/…" /></label>
      <label>Payload
        <select value={form.webhook_format} onChange={set("webhook_format")} aria-label="Payload">
          <option value="json">generic JSON</option>
          <option value="slack">Slack message</option>
        </select>
      </label>
      <button type="submit" class="btn btn-primary" disabled={saving || !project}>Create alert</button>
      <ErrorBanner error={error} what="the alert" />
    </form>
  );
}

function History({ rule }: { rule: AlertRule }) {
  const history = useApi<AlertHistory>(`/api/alerts/${encodeURIComponent(rule.id)}/history`);
  return (
    <Section title={`History of ${rule.name}`} right={<button type="button" class="btn" onClick={history.reload}>Refresh</button>}>
      <ErrorBanner error={history.error} what="the history" />
      {history.loading && !history.data ? <Loading /> : null}
      {history.data && history.data.events.length === 0 ? <p class="muted">Not fired yet.</p> : null}
      {history.data && history.data.events.length ? (
        <table class="table alert-history" aria-label="Alert history">
          <thead><tr><th>When</th><th>Event</th><th>Value</th><th>Notification</th></tr></thead>
          <tbody>
            {history.data.events.map((e, i) => (
              <tr key={i}>
                <td>{fmtTime(e.at)}</td>
                <td><span class={`badge ${e.kind === "fired" ? "status-error" : "status-ok"}`}>{e.kind}</span></td>
                <td class="num">{e.value === null ? "–" : fmtNum(e.value)}</td>
                <td>{e.notification}{e.attempts ? ` (${e.attempts} ${e.attempts === 1 ? "try" : "tries"})` : ""}{e.detail ? `: ${e.detail}` : ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </Section>
  );
}

export function AlertsView({ project, query }: { project: string; query: URLSearchParams }) {
  const alerts = useApi<AlertList>(project ? "/api/alerts" : null, { project });
  const [error, setError] = useState<Error | null>(null);
  const selectedId = query.get("alert");
  const list = alerts.data?.alerts ?? [];
  const selected = list.find((a) => a.id === selectedId);
  const remove = async (rule: AlertRule) => {
    try {
      await apiDelete(`/api/alerts/${encodeURIComponent(rule.id)}`);
      if (selectedId === rule.id) setQuery({ alert: null });
      alerts.reload();
    } catch (err) {
      setError(err as Error);
    }
  };
  return (
    <div class="view alerts-view">
      <h1>Alerts</h1>
      <p class="muted">The collector checks each rule on a timer and calls its webhook when the rule fires and when it resolves.</p>
      <ErrorBanner error={alerts.error ?? error} what="alerts" />
      <Section title="Rules" right={<button type="button" class="btn" onClick={alerts.reload}>Refresh</button>}>
        {alerts.loading && !alerts.data ? <Loading /> : null}
        {alerts.data && list.length === 0 ? <EmptyState title="No alert rules in this project yet" /> : null}
        {list.length ? (
          <table class="table alerts-table" aria-label="Alert rules">
            <thead><tr><th>Name</th><th>Rule</th><th>State</th><th>Cool-down</th><th>Webhook</th><th /></tr></thead>
            <tbody>
              {list.map((a) => (
                <tr key={a.id} class={a.id === selectedId ? "selected" : ""}>
                  <td><a href="#" onClick={(e) => { e.preventDefault(); setQuery({ alert: a.id }); }}>{a.name}</a></td>
                  <td>{describe(a)}</td>
                  <td><span class={`badge ${a.state === "firing" ? "status-error" : "status-ok"}`}>{a.enabled ? a.state : "paused"}</span></td>
                  <td class="num">{a.cooldown_s}s</td>
                  <td>{a.webhook_url ? `${a.webhook_format}` : "–"}</td>
                  <td><button type="button" class="btn" onClick={() => remove(a)} aria-label={`Delete ${a.name}`}>Delete</button></td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </Section>
      {/* Keyed by state too: a rule that fired or resolved shows its new event. */}
      {selected ? <History key={`${selected.id}-${selected.state}`} rule={selected} /> : null}
      <Section title="New alert">
        <CreateForm project={project} onCreated={(r) => { alerts.reload(); setQuery({ alert: r.id }); }} />
      </Section>
    </div>
  );
}
