// Monitoring: volume, errors, latency percentiles, tokens and cost over time, broken down
// by model / op / kind; top slow, expensive and failing ops; guardrails and monitor scores.
// Every number is aggregated by ClickHouse through /api/stats; the page only draws.
import { useEffect, useMemo } from "preact/hooks";
import { Chart, type SeriesSpec } from "../components/chart";
import { EmptyState, ErrorBanner, FirstTraceHelp, Loading } from "../components/common";
import { RangePicker, SelectFilter, TextFilter } from "../components/filters";
import { OP_KINDS, type GuardrailStats, type ScoreStats, type Stats, type TtftStats } from "../lib/types";
import { useApi } from "../lib/api";
import { fmtCost, fmtInt, fmtMs, fmtNum, fmtPct, parseTime, rangeParams } from "../lib/format";
import { Link, setQuery } from "../lib/router";
import { align, toPoint, type StatsPoint, type StatsTotals } from "../lib/stats";

/** GET /api/stats: one series per group (a single one with group null when ungrouped). */
type StatsResponse = Stats;

const GROUPS = [
  { id: "", label: "nothing" },
  { id: "model", label: "model" },
  { id: "name", label: "op" },
  { id: "kind", label: "kind" },
  { id: "prompt", label: "prompt version" },
  { id: "user_id", label: "user" },
  { id: "session_id", label: "session" },
];
const MAX_GROUPS = 8;
const LIVE_MS = 30_000;

function points(resp: StatsResponse | undefined): StatsPoint[] {
  const out: StatsPoint[] = [];
  for (const s of resp?.series ?? []) for (const p of s.points) out.push(toPoint(p, s.group ?? ""));
  return out;
}

/** Per-group totals over the whole range, as the server computed them. */
function groupTotals(resp: StatsResponse | undefined): StatsPoint[] {
  return (resp?.series ?? []).map((s) => ({ ...toPoint(s.totals, s.group ?? ""), group: s.group ?? "" }));
}

function totalsOf(resp: StatsResponse | undefined): StatsTotals | null {
  return resp ? toPoint(resp.totals) : null;
}

const epoch = (iso: string) => (parseTime(iso)?.getTime() ?? 0) / 1000;

function Card({ label, value, raw, cls }: { label: string; value: string; raw: number | null; cls?: string }) {
  return (
    <div class="card" data-metric={label} data-value={raw === null ? "" : String(raw)}>
      <div class="label">{label}</div>
      <div class={`value ${cls ?? ""}`}>{value}</div>
    </div>
  );
}

/** Rank groups by a field over the whole range, from the server's per-group totals. */
function TopOps({ title, rows, field, fmt, project, extraQuery }: { title: string; rows: StatsPoint[]; field: keyof StatsPoint; fmt: (v: number) => string; project: string; extraQuery?: string }) {
  const ranked = rows.filter((r) => Number(r[field] ?? 0) > 0).sort((a, b) => Number(b[field]) - Number(a[field])).slice(0, 5);
  return (
    <div class="panel top-ops" data-top={title}>
      <h3>{title}</h3>
      {ranked.length ? (
        <table class="table compact">
          <tbody>
            {ranked.map((r) => (
              <tr key={r.group}>
                <td class="ellipsis">
                  <Link href={`/traces?project=${encodeURIComponent(project)}&name=${encodeURIComponent(r.group)}${extraQuery ?? ""}`}>{r.group || "(unnamed)"}</Link>
                </td>
                <td class="num">{fmt(Number(r[field]))}</td>
                <td class="num muted small">{fmtInt(r.count)} calls</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p class="muted">Nothing in this range.</p>
      )}
    </div>
  );
}

/** Where a group's traces are: the trace list filtered by it (a session: its conversation). */
function groupHref(project: string, groupBy: string, group: string): string | null {
  const p = `project=${encodeURIComponent(project)}`;
  if (groupBy === "session_id") return `/sessions/${encodeURIComponent(group)}?${p}`;
  if (["model", "name", "kind", "user_id"].includes(groupBy)) return `/traces?${p}&${groupBy}=${encodeURIComponent(group)}`;
  return null;
}

/** Every group of the breakdown with its totals over the range, most expensive first. */
function GroupTotals({ groupBy, label, rows, total, project }: { groupBy: string; label: string; rows: StatsPoint[]; total: number; project: string }) {
  const ranked = [...rows].sort((a, b) => b.cost - a.cost || b.tokens - a.tokens || b.traces - a.traces);
  return (
    <div class="panel group-totals">
      <h3>
        Cost and tokens by {label}
        {total > rows.length ? <span class="muted small"> (top {rows.length} of {fmtInt(total)})</span> : null}
      </h3>
      <table class="table compact" aria-label={`Totals by ${label}`}>
        <thead>
          <tr><th>{label}</th><th class="num">Traces</th><th class="num">Spans</th><th class="num">Tokens</th><th class="num">Cost</th><th class="num">Errors</th></tr>
        </thead>
        <tbody>
          {ranked.map((r) => {
            const href = r.group ? groupHref(project, groupBy, r.group) : null;
            return (
              <tr key={r.group}>
                <td class="ellipsis">{href ? <Link href={href}>{r.group}</Link> : r.group || "(none)"}</td>
                <td class="num">{fmtInt(r.traces)}</td>
                <td class="num">{fmtInt(r.count)}</td>
                <td class="num">{fmtInt(r.tokens)}</td>
                <td class="num">{fmtCost(r.cost)}</td>
                <td class="num">{fmtInt(r.errors)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

export function MonitoringView({ project, query }: { project: string; query: URLSearchParams }) {
  const range = query.get("range") ?? "24h";
  const groupBy = query.get("group_by") ?? "";
  const r = rangeParams(range, query.get("since"), query.get("until"));
  const base = { project, since: r.since, until: r.until };
  // Optional span filters narrow every span chart (not guardrails or scores).
  const spanFilter = { kind: query.get("kind") ?? undefined, model: query.get("model") ?? undefined };
  const enabled = project ? "/api/stats" : null;

  // The server picks the bucket width for the range (about 120 points).
  const overall = useApi<StatsResponse>(enabled, { ...base, ...spanFilter });
  const grouped = useApi<StatsResponse>(enabled && groupBy ? "/api/stats" : null, { ...base, ...spanFilter, group_by: groupBy });
  // Per-op totals for the "top" tables: one bucket as wide as the range keeps it small.
  const byOp = useApi<StatsResponse>(enabled, { ...base, ...spanFilter, bucket: `${Math.ceil(r.seconds)}s`, group_by: "name" });
  const guard = useApi<GuardrailStats>(project ? "/api/console/guardrails" : null, base);
  const scores = useApi<ScoreStats>(project ? "/api/console/scores" : null, base);
  // Time to first token of streamed LLM calls (only they record it; the kind is implied).
  const ttft = useApi<TtftStats>(project ? "/api/console/ttft" : null, { ...base, model: spanFilter.model });

  const reloadAll = () => {
    overall.reload();
    grouped.reload();
    byOp.reload();
    guard.reload();
    scores.reload();
    ttft.reload();
  };
  // Dashboards refresh less often than the trace list: each refresh is several aggregates.
  const live = query.get("live") === "1";
  useEffect(() => {
    if (!live) return;
    const id = window.setInterval(reloadAll, LIVE_MS);
    return () => window.clearInterval(id);
  }, [live]);

  const pts = useMemo(() => points(overall.data), [overall.data]);
  const a = useMemo(() => align(pts), [pts]);
  const g = useMemo(() => align(points(grouped.data)), [grouped.data]);
  const opRows = useMemo(() => groupTotals(byOp.data), [byOp.data]);
  const totals = totalsOf(overall.data);
  const guardX = useMemo(() => (guard.data?.points ?? []).map((p) => epoch(p.time)), [guard.data]);
  const guardSeries = useMemo((): SeriesSpec[] => {
    const pts = guard.data?.points ?? [];
    if (!guard.data?.totals.checks) return [];
    // Failed checks by what the guardrail did; failures without an action stay "failed".
    const actions = [...new Set(pts.flatMap((p) => Object.keys(p.actions)))].sort();
    const label: Record<string, string> = { block: "blocked", redact: "redacted", flag: "flagged" };
    const colors: Record<string, string> = { block: "#dc2626", redact: "#d97706", flag: "#7c3aed" };
    const series: SeriesSpec[] = [{ label: "passed", values: pts.map((p) => p.passed), color: "#059669" }];
    for (const a of actions) series.push({ label: label[a] ?? a, values: pts.map((p) => p.actions[a] ?? 0), color: colors[a] });
    const other = pts.map((p) => p.failed - Object.values(p.actions).reduce((x, y) => x + y, 0));
    if (other.some((v) => v > 0)) series.push({ label: "failed", values: other, color: "#6b7280" });
    return series;
  }, [guard.data]);
  const scoreX = useMemo(() => (scores.data?.series[0]?.points ?? []).map((p) => epoch(p.time)), [scores.data]);
  const scoreSeries = useMemo(
    (): SeriesSpec[] => (scores.data?.series ?? []).map((s) => ({ label: s.name, values: s.points.map((p) => p.mean) })),
    [scores.data],
  );

  const ttftX = useMemo(() => (ttft.data?.points ?? []).map((p) => epoch(p.time)), [ttft.data]);
  const ttftSeries = useMemo((): SeriesSpec[] => {
    const pts = ttft.data?.points ?? [];
    if (!ttft.data?.totals.count) return [];
    return [
      { label: "p50", values: pts.map((p) => p.p50_ms), color: "#059669" },
      { label: "p95", values: pts.map((p) => p.p95_ms), color: "#d97706" },
    ];
  }, [ttft.data]);
  const ttftTotals = ttft.data?.totals;

  const topGroups = useMemo(() => {
    const sums = g.groups.map((name) => ({ name, n: g.get(name, "count").reduce<number>((s, v) => s + (v ?? 0), 0) }));
    return sums.sort((x, y) => y.n - x.n).slice(0, MAX_GROUPS).map((s) => s.name);
  }, [g]);

  const errRate = a.x.map((_, i) => {
    const c = a.get("", "count")[i] ?? 0;
    const e = a.get("", "errors")[i] ?? 0;
    return c ? e / c : null;
  });
  const perGroup = (field: keyof StatsPoint): SeriesSpec[] => topGroups.map((name) => ({ label: name || "(none)", values: g.get(name, field) }));
  const overallGroup = a.groups[0] ?? "";
  const get = (f: keyof StatsPoint) => a.get(overallGroup, f);

  const empty = overall.data && totals && totals.count === 0;
  return (
    <div class="view monitoring-view">
      <div class="view-head">
        <h1>Monitoring</h1>
        <form class="filters inline" onSubmit={(e) => e.preventDefault()}>
          <RangePicker query={query} />
          <SelectFilter param="kind" label="Kind" query={query} options={OP_KINDS} />
          <TextFilter param="model" label="Model" query={query} valuesField="model" project={project} />
          <label>
            <span>Break down by</span>
            <select aria-label="Break down by" value={groupBy} onChange={(e) => setQuery({ group_by: (e.target as HTMLSelectElement).value || null })}>
              {GROUPS.map((o) => (
                <option key={o.id} value={o.id}>
                  {o.label}
                </option>
              ))}
            </select>
          </label>
        </form>
        <div class="view-actions">
          {overall.data ? <span class="muted small">bucket {overall.data.bucket}</span> : null}
          <label class="toggle">
            <input type="checkbox" checked={live} onChange={(e) => setQuery({ live: (e.target as HTMLInputElement).checked ? "1" : null })} />
            Live refresh
          </label>
          <button type="button" class="btn" onClick={reloadAll}>
            Refresh
          </button>
        </div>
      </div>
      <ErrorBanner error={overall.error} what="statistics" />
      <ErrorBanner error={ttft.error} what="time to first token" />
      {overall.loading && !overall.data ? <Loading /> : null}
      {totals ? (
        <div class="cards" aria-label="Totals">
          <Card label="Traces" value={fmtInt(totals.traces)} raw={totals.traces} />
          <Card label="Spans" value={fmtInt(totals.count)} raw={totals.count} />
          <Card label="Errors" value={fmtInt(totals.errors)} raw={totals.errors} cls={totals.errors ? "error-text" : ""} />
          <Card label="Error rate" value={fmtPct(totals.count ? totals.errors / totals.count : 0)} raw={totals.count ? totals.errors / totals.count : 0} />
          <Card label="p50 latency" value={fmtMs(totals.p50)} raw={totals.p50} />
          <Card label="p95 latency" value={fmtMs(totals.p95)} raw={totals.p95} />
          <Card label="p99 latency" value={fmtMs(totals.p99)} raw={totals.p99} />
          <Card label="Tokens" value={fmtInt(totals.tokens)} raw={totals.tokens} />
          <Card label="Cost" value={fmtCost(totals.cost)} raw={totals.cost} />
          {ttftTotals && ttftTotals.count ? (
            <>
              <Card label="TTFT p50" value={fmtMs(ttftTotals.p50_ms)} raw={ttftTotals.p50_ms} />
              <Card label="TTFT p95" value={fmtMs(ttftTotals.p95_ms)} raw={ttftTotals.p95_ms} />
            </>
          ) : null}
        </div>
      ) : null}
      {empty ? (
        <EmptyState title="No spans in this range">
          <FirstTraceHelp project={project} />
        </EmptyState>
      ) : null}
      {overall.data && !empty ? (
        <>
          <ErrorBanner error={grouped.error} what={`the breakdown by ${groupBy}`} />
          <div class="charts">
            {groupBy && g.x.length ? (
              <Chart title={`Requests (traces) by ${groupBy}`} x={g.x} series={perGroup("traces")} format={(v) => fmtInt(v)} stacked bars integer />
            ) : (
              <Chart title="Requests (traces)" x={a.x} series={[{ label: "traces", values: get("traces"), color: "#2563eb" }]} format={(v) => fmtInt(v)} bars integer />
            )}
            {groupBy && g.x.length ? (
              <Chart title={`Spans by ${groupBy}`} x={g.x} series={perGroup("count")} format={(v) => fmtInt(v)} stacked bars integer />
            ) : (
              <Chart
                title="Spans and errors"
                x={a.x}
                series={[
                  { label: "ok", values: get("count").map((c, i) => (c === null ? null : c - (get("errors")[i] ?? 0))), color: "#60a5fa" },
                  { label: "errors", values: get("errors"), color: "#dc2626" },
                ]}
                format={(v) => fmtInt(v)}
                stacked
                bars
                integer
              />
            )}
            <Chart title="Error rate" x={a.x} series={[{ label: "error rate", values: errRate, color: "#dc2626" }]} format={(v) => fmtPct(v)} />
            {groupBy && g.x.length ? (
              <Chart title={`p95 latency by ${groupBy}`} x={g.x} series={perGroup("p95")} format={(v) => fmtMs(v)} />
            ) : (
              <Chart title="Latency" x={a.x} series={[{ label: "p50", values: get("p50"), color: "#059669" }, { label: "p95", values: get("p95"), color: "#d97706" }, { label: "p99", values: get("p99"), color: "#dc2626", dash: true }]} format={(v) => fmtMs(v)} />
            )}
            <Chart
              title="Time to first token (streamed LLM calls)"
              x={ttftSeries.length ? ttftX : []}
              series={ttftSeries}
              format={(v) => fmtMs(v)}
            />
            {groupBy && g.x.length ? (
              <Chart title={`Tokens by ${groupBy}`} x={g.x} series={perGroup("tokens")} format={(v) => fmtInt(v)} stacked />
            ) : (
              <Chart title="Tokens" x={a.x} series={[{ label: "input", values: get("input_tokens") }, { label: "output", values: get("output_tokens"), color: "#7c3aed" }]} format={(v) => fmtInt(v)} stacked />
            )}
            {groupBy && g.x.length ? (
              <Chart title={`Cost by ${groupBy}`} x={g.x} series={perGroup("cost")} format={(v) => fmtCost(v)} stacked />
            ) : (
              <Chart title="Cost" x={a.x} series={[{ label: "cost (USD)", values: get("cost"), color: "#059669" }]} format={(v) => fmtCost(v)} />
            )}
          </div>
          {groupBy && grouped.data && grouped.data.series.length ? (
            <GroupTotals
              groupBy={groupBy}
              label={GROUPS.find((o) => o.id === groupBy)?.label ?? groupBy}
              rows={groupTotals(grouped.data)}
              total={grouped.data.group_count ?? grouped.data.series.length}
              project={project}
            />
          ) : null}
          <h2 class="section-title">Guardrails and monitors</h2>
          <ErrorBanner error={guard.error} what="guardrail verdicts" />
          <ErrorBanner error={scores.error} what="monitor scores" />
          <div class="charts">
            <Chart title="Guardrail verdicts" x={guardSeries.length ? guardX : []} series={guardSeries} format={(v) => fmtInt(v)} stacked bars integer />
            <Chart title="Monitor scores (mean)" x={scoreSeries.length ? scoreX : []} series={scoreSeries} format={(v) => fmtNum(v, 2)} />
          </div>
          {guard.data && guard.data.guardrails.length ? (
            <div class="panel guardrail-table">
              <h3>Guardrails in this range</h3>
              <table class="table compact">
                <thead>
                  <tr><th>Guardrail</th><th class="num">Checks</th><th class="num">Passed</th><th class="num">Failed</th><th class="num">Fail rate</th></tr>
                </thead>
                <tbody>
                  {guard.data.guardrails.map((g) => (
                    <tr key={g.name}>
                      <td><Link href={`/traces?project=${encodeURIComponent(project)}&name=${encodeURIComponent(g.name)}`}>{g.name}</Link></td>
                      <td class="num">{fmtInt(g.checks)}</td>
                      <td class="num">{fmtInt(g.passed)}</td>
                      <td class={`num ${g.failed ? "error-text" : ""}`}>{fmtInt(g.failed)}</td>
                      <td class="num">{fmtPct(g.checks ? g.failed / g.checks : 0)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : null}
          <ErrorBanner error={byOp.error} what="per-op totals" />
          <div class="tops">
            <TopOps title="Slowest ops (p95)" rows={opRows} field="p95" fmt={(v) => fmtMs(v)} project={project} />
            <TopOps title="Most expensive ops" rows={opRows} field="cost" fmt={(v) => fmtCost(v)} project={project} />
            <TopOps title="Most failing ops" rows={opRows} field="errors" fmt={(v) => fmtInt(v)} project={project} extraQuery="&status=error" />
          </div>
        </>
      ) : null}
    </div>
  );
}
