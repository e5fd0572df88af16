// Traces: newest first, filtered server-side, paged by keyset cursor.
import { useEffect, useMemo } from "preact/hooks";
import { EmptyState, ErrorBanner, FirstTraceHelp, Loading, Pager, StatusBadge, useCursors } from "../components/common";
import { RangePicker, SelectFilter, TextFilter } from "../components/filters";
import { apiUrl, useApi } from "../lib/api";
import { fmtAgo, fmtCost, fmtInt, fmtMs, fmtTime, rangeParams } from "../lib/format";
import { useProjects } from "../lib/project";
import { Link, navigate, setQuery } from "../lib/router";
import { OP_KINDS, STATUSES, type TraceList, type TraceSummary } from "../lib/types";

const FILTERS = ["name", "kind", "model", "status", "user_id", "session_id", "tag", "prompt", "q"] as const;
const PAGE_SIZE = 50;
const LIVE_MS = 5000;

function traceModel(t: TraceSummary): string {
  return t.model ?? "";
}

/** A cell value that narrows the list to it when clicked. */
function FilterLink({ param, value, cls }: { param: string; value: string | null | undefined; cls?: string }) {
  if (!value) return null;
  return (
    <button
      type="button"
      class={`cell-filter ${cls ?? ""}`}
      title={`Only traces with ${param} = ${value}`}
      onClick={(e) => {
        e.stopPropagation();
        setQuery({ [param]: value });
      }}
    >
      {value}
    </button>
  );
}

function Row({ t, project }: { t: TraceSummary; project: string }) {
  const href = `/traces/${t.trace_id}?project=${encodeURIComponent(project)}`;
  const tokens = (t.input_tokens ?? 0) + (t.output_tokens ?? 0);
  return (
    <tr class={`trace-row ${t.status === "error" ? "row-error" : ""}`} data-trace-id={t.trace_id} onClick={(e) => {
      if ((e.target as HTMLElement).closest("a")) return;
      navigate(href);
    }}>
      <td class="nowrap" title={fmtAgo(t.start_time)}>{fmtTime(t.start_time)}</td>
      <td class="op-cell">
        <Link href={href}>{t.root_name || "(unnamed)"}</Link>
        {t.span_count > 1 ? <span class="muted small"> · {t.span_count} spans</span> : null}
      </td>
      <td class="num">{fmtMs(t.duration_ms)}</td>
      <td><StatusBadge status={t.status} /></td>
      <td class="num" title={`${fmtInt(t.input_tokens)} in / ${fmtInt(t.output_tokens)} out`}>{tokens ? fmtInt(tokens) : "–"}</td>
      <td class="num">{t.cost_usd ? fmtCost(t.cost_usd) : "–"}</td>
      <td class="ellipsis"><FilterLink param="model" value={traceModel(t)} /></td>
      <td class="ellipsis"><FilterLink param="user_id" value={t.user_id} /></td>
      <td class="ellipsis">
        <FilterLink param="session_id" value={t.session_id} />
        {t.session_id ? (
          <Link href={`/sessions/${encodeURIComponent(t.session_id)}?project=${encodeURIComponent(project)}`} class="session-open" title="This session as a conversation">
            ↗
          </Link>
        ) : null}
      </td>
      <td>
        <span class="tags">
          {(t.tags ?? []).map((tag) => (
            <FilterLink key={tag} param="tag" value={tag} cls="tag" />
          ))}
        </span>
      </td>
    </tr>
  );
}

/** While this project is empty, watch for traces (here or in another project). */
function OtherProjects({ current, onFound }: { current: string; onFound: () => void }) {
  const projects = useProjects(5000);
  const withTraces = (projects.data?.projects ?? []).filter((p) => p.trace_count > 0);
  const here = withTraces.some((p) => p.name === current);
  useEffect(() => {
    if (here) onFound();
  }, [here]);
  const others = withTraces.filter((p) => p.name !== current);
  if (!others.length) return <p class="muted small">Waiting for traces… this page updates by itself.</p>;
  return (
    <p class="other-projects">
      Traces are arriving in {others.length === 1 ? "project" : "projects"}{" "}
      {others.map((p, i) => (
        <span key={p.name}>
          {i ? ", " : ""}
          <Link href={`/traces?project=${encodeURIComponent(p.name)}`}>{p.name}</Link>
        </span>
      ))}
      .
    </p>
  );
}

export function TracesView({ project, query }: { project: string; query: URLSearchParams }) {
  const range = query.get("range") ?? "24h";
  const live = query.get("live") === "1";
  const filterKey = [range, query.get("since"), query.get("until"), ...FILTERS.map((f) => query.get(f))].join("|");
  const { cursor, cursors, setCursors } = useCursors(`${filterKey}|${project}`);

  const params = useMemo(() => {
    const r = rangeParams(range, query.get("since"), query.get("until"));
    const p: Record<string, string | number | undefined> = { project, since: r.since, until: r.until, limit: PAGE_SIZE, cursor };
    for (const f of FILTERS) p[f] = query.get(f) ?? undefined;
    return p;
  }, [filterKey, project, cursor]);

  const list = useApi<TraceList>(project ? "/api/traces" : null, params);
  const projects = useProjects();

  // Live refresh only makes sense on the newest page.
  useEffect(() => {
    if (!live || cursor) return;
    const id = window.setInterval(list.reload, LIVE_MS);
    return () => window.clearInterval(id);
  }, [live, cursor, list.reload]);

  const activeFilters = FILTERS.filter((f) => query.get(f));
  const projectInfo = projects.data?.projects.find((p) => p.name === project);
  const projectEmpty = projects.data !== undefined && (!projectInfo || projectInfo.trace_count === 0);
  const traces = list.data?.traces ?? [];

  return (
    <div class="view traces-view">
      <div class="view-head">
        <h1>Traces</h1>
        <div class="view-actions">
          <label class="toggle">
            <input type="checkbox" checked={live} onChange={(e) => setQuery({ live: (e.target as HTMLInputElement).checked ? "1" : null })} />
            Live refresh
          </label>
          <button type="button" class="btn" onClick={list.reload}>Refresh</button>
          {/* What the filter shows, every page of it (up to the collector's export cap). */}
          {(["jsonl", "csv", "parquet"] as const).map((format) => (
            <a key={format} class="btn" download href={apiUrl("/api/export/traces", { ...params, limit: undefined, cursor: undefined, format })}>
              Export {format.toUpperCase()}
            </a>
          ))}
        </div>
      </div>
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="Trace filters">
        <RangePicker query={query} />
        <TextFilter param="name" label="Op name" query={query} valuesField="name" project={project} />
        <SelectFilter param="kind" label="Kind" query={query} options={OP_KINDS} />
        <TextFilter param="model" label="Model" query={query} valuesField="model" project={project} />
        <SelectFilter param="status" label="Status" query={query} options={STATUSES} />
        <TextFilter param="user_id" label="User" query={query} valuesField="user_id" project={project} />
        <TextFilter param="session_id" label="Session" query={query} valuesField="session_id" project={project} />
        <TextFilter param="tag" label="Tag" query={query} valuesField="tags" project={project} />
        <TextFilter param="prompt" label="Prompt" query={query} placeholder="name or name:v3" width="9rem" />
        <TextFilter param="q" label="Search" query={query} placeholder="text in inputs/outputs" width="12rem" />
        {activeFilters.length ? (
          <button type="button" class="btn btn-link clear" onClick={() => setQuery(Object.fromEntries(FILTERS.map((f) => [f, null])))}>
            Clear filters
          </button>
        ) : null}
      </form>
      <ErrorBanner error={list.error} what="traces" />
      {!project ? <Loading label="Loading projects…" /> : null}
      {list.loading && !list.data ? <Loading /> : null}
      {list.data && traces.length === 0 ? (
        projectEmpty && activeFilters.length === 0 ? (
          <EmptyState title="Send your first trace">
            <FirstTraceHelp project={project} />
            <OtherProjects current={project} onFound={list.reload} />
          </EmptyState>
        ) : (
          <EmptyState title="No traces match">
            <p>Nothing in this time range matches the filters. Widen the range or clear a filter.</p>
          </EmptyState>
        )
      ) : null}
      {traces.length ? (
        <div class="table-wrap">
          <table class="table traces-table" aria-busy={list.loading}>
            <thead>
              <tr>
                <th>Time</th>
                <th>Root op</th>
                <th class="num">Duration</th>
                <th>Status</th>
                <th class="num">Tokens</th>
                <th class="num">Cost</th>
                <th>Model</th>
                <th>User</th>
                <th>Session</th>
                <th>Tags</th>
              </tr>
            </thead>
            <tbody>
              {traces.map((t) => (
                <Row key={t.trace_id} t={t} project={project} />
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {list.data ? <Pager cursors={cursors} setCursors={setCursors} next={list.data.next_cursor} /> : null}
    </div>
  );
}
