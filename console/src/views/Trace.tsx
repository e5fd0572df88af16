// One trace: the span tree beside a waterfall timeline, and the selected span's detail.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { CopyButton, ErrorBanner, KindBadge, Loading, StatusBadge } from "../components/common";
import { SpanDetail } from "../components/span-detail";
import { apiUrl, useApi } from "../lib/api";
import { fmtCost, fmtInt, fmtMs, fmtTime, parseJson } from "../lib/format";
import { Link, setQuery } from "../lib/router";
import { buildTree, parentMap, spanUsage, subtreeUsage, visibleNodes, type SpanNode, type Usage } from "../lib/tree";
import type { TraceDetail } from "../lib/types";

function Waterfall({ node, t0, total }: { node: SpanNode; t0: number; total: number }) {
  const left = total > 0 ? ((node.startMs - t0) / total) * 100 : 0;
  const width = total > 0 ? Math.max(((node.endMs - node.startMs) / total) * 100, 0.4) : 100;
  const labelInside = width > 18;
  // Near the right edge the label goes before the bar so it is never clipped.
  const labelLeft = left + width < 85;
  return (
    <div class="wf-track">
      <div
        class={`wf-bar kind-bg-${node.span.kind || "none"} ${node.span.status === "error" ? "wf-error" : ""}`}
        style={{ left: `${Math.min(left, 99.6)}%`, width: `${Math.min(width, 100 - Math.min(left, 99.6))}%` }}
        title={`${node.span.name}: starts +${fmtMs(node.startMs - t0)}, lasts ${fmtMs(node.span.duration_ms)}`}
      >
        {labelInside ? <span class="wf-label">{fmtMs(node.span.duration_ms)}</span> : null}
      </div>
      {!labelInside ? (
        <span class="wf-label-out" style={labelLeft ? { left: `calc(${Math.min(left + width, 100)}% + 4px)` } : { right: `calc(${100 - left}% + 4px)` }}>
          {fmtMs(node.span.duration_ms)}
        </span>
      ) : null}
    </div>
  );
}

/** A guardrail check's verdict (its `spyglass.guardrail.passed` attribute) in the tree. */
function GuardrailVerdict({ node }: { node: SpanNode }) {
  if (node.span.kind !== "guardrail") return null;
  const attrs = parseJson(node.span.attributes);
  const passed = attrs && typeof attrs === "object" ? (attrs as Record<string, unknown>)["spyglass.guardrail.passed"] : undefined;
  if (typeof passed !== "boolean") return null;
  const action = (attrs as Record<string, unknown>)["spyglass.guardrail.action"];
  return passed ? (
    <span class="badge status-ok">passed</span>
  ) : (
    <span class="badge status-error">{typeof action === "string" && action !== "pass" ? action : "failed"}</span>
  );
}

/** Tokens and cost in the tree: the span's own, and for a parent the sum over its subtree. */
function UsageCell({ node, subtree }: { node: SpanNode; subtree: Usage | undefined }) {
  const own = spanUsage(node.span);
  const showSum = node.children.length > 0 && subtree && (subtree.tokens || subtree.cost);
  if (!own.tokens && !own.cost && !showSum) return null;
  const text = (u: Usage) => [u.tokens ? `${fmtInt(u.tokens)} tok` : "", u.cost ? fmtCost(u.cost) : ""].filter(Boolean).join(" · ");
  return (
    <span class="tree-usage muted small" data-testid="span-usage">
      {own.tokens || own.cost ? <span class="usage-own" title="This span's tokens and cost">{text(own)}</span> : null}
      {showSum ? <span class="usage-sum" title="Tokens and cost of this span and everything under it">Σ {text(subtree!)}</span> : null}
    </span>
  );
}

const ROW_CAP = 1000;

export function TraceView({ project, traceId, query }: { project: string; traceId: string; query: URLSearchParams }) {
  const trace = useApi<TraceDetail>(`/api/traces/${encodeURIComponent(traceId)}`, { project: project || undefined });
  const spans = trace.data?.spans ?? [];
  const roots = useMemo(() => buildTree(spans), [trace.data]);
  const parents = useMemo(() => parentMap(roots), [roots]);
  const usage = useMemo(() => subtreeUsage(roots), [roots]);
  const [collapsed, setCollapsed] = useState<Set<string>>(new Set());
  const visible = useMemo(() => visibleNodes(roots, collapsed), [roots, collapsed]);
  // The time axis spans the whole trace, so folding a subtree never rescales the bars.
  const allNodes = useMemo(() => visibleNodes(roots, new Set()), [roots]);
  const selectedId = query.get("span") ?? roots[0]?.span.span_id ?? "";
  const selected = visible.find((n) => n.span.span_id === selectedId) ?? (spans.length ? roots[0] : undefined);
  const treeRef = useRef<HTMLDivElement>(null);
  // Very large traces draw their first rows at once and the rest on request.
  const [rowCap, setRowCap] = useState(ROW_CAP);
  const selIndex = selected ? visible.indexOf(selected) : -1;
  const cap = Math.max(rowCap, selIndex + 1);
  const drawn = visible.length > cap ? visible.slice(0, cap) : visible;

  // A loop, not Math.min(...spread): huge traces would overflow the argument list.
  let t0 = Infinity;
  let t1 = -Infinity;
  for (const n of allNodes) {
    if (n.startMs < t0) t0 = n.startMs;
    if (n.endMs > t1) t1 = n.endMs;
  }
  const total = Number.isFinite(t0) && Number.isFinite(t1) ? t1 - t0 : 0;

  const select = (id: string) => setQuery({ span: id });
  const toggle = (id: string, open?: boolean) => {
    const next = new Set(collapsed);
    const isOpen = !next.has(id);
    if (open === undefined ? isOpen : !open) next.add(id);
    else next.delete(id);
    setCollapsed(next);
  };

  // Keep keyboard focus on the selected row as selection moves.
  useEffect(() => {
    if (!treeRef.current?.contains(document.activeElement)) return;
    const el = treeRef.current.querySelector<HTMLElement>(`[data-span-id="${selected?.span.span_id}"]`);
    el?.focus();
  }, [selected?.span.span_id]);

  const onKeyDown = (e: KeyboardEvent) => {
    if (!selected) return;
    const i = visible.indexOf(selected);
    const id = selected.span.span_id;
    const hasKids = selected.children.length > 0;
    let handled = true;
    switch (e.key) {
      case "ArrowDown":
        if (i < visible.length - 1) select(visible[i + 1].span.span_id);
        break;
      case "ArrowUp":
        if (i > 0) select(visible[i - 1].span.span_id);
        break;
      case "ArrowRight":
        if (hasKids && collapsed.has(id)) toggle(id, true);
        else if (hasKids) select(selected.children[0].span.span_id);
        break;
      case "ArrowLeft":
        if (hasKids && !collapsed.has(id)) toggle(id, false);
        else {
          const p = parents.get(id);
          if (p) select(p.span.span_id);
        }
        break;
      case "Home":
        if (visible.length) select(visible[0].span.span_id);
        break;
      case "End":
        if (visible.length) select(visible[visible.length - 1].span.span_id);
        break;
      case "Enter":
      case " ":
        if (hasKids) toggle(id);
        document.getElementById("span-detail")?.scrollIntoView({ block: "nearest" });
        break;
      default:
        handled = false;
    }
    if (handled) e.preventDefault();
  };

  const root = roots[0]?.span;
  const sum = (f: (s: (typeof spans)[number]) => number) => spans.reduce((a, s) => a + (f(s) || 0), 0);
  // Tokens and cost live on the LLM spans; summing leaves is what the trace spent.
  const tokens = sum((s) => (s.input_tokens ?? 0) + (s.output_tokens ?? 0));
  const cost = sum((s) => s.cost_usd ?? 0);
  const errors = spans.filter((s) => s.status === "error").length;
  const back = `/traces${project ? `?project=${encodeURIComponent(project)}` : ""}`;
  // The conversation this trace is a turn of (any span may carry the session id).
  const session = spans.find((s) => s.session_id)?.session_id;

  return (
    <div class="view trace-view">
      <div class="breadcrumb">
        <Link href={back}>← Traces</Link>
      </div>
      <ErrorBanner error={trace.error} what={`trace ${traceId}`} />
      {trace.loading && !trace.data ? <Loading /> : null}
      {trace.data && spans.length === 0 ? <ErrorBanner error={new Error(`Trace ${traceId} has no spans`)} /> : null}
      {root ? (
        <>
          <div class="trace-head">
            <h1>
              {root.name} <StatusBadge status={errors ? "error" : root.status} />
            </h1>
            <dl class="facts inline">
              <div><dt>Trace</dt><dd><code>{traceId}</code> <CopyButton text={traceId} label="Copy id" /></dd></div>
              <div><dt>Started</dt><dd>{fmtTime(root.start_time, true)}</dd></div>
              <div><dt>Duration</dt><dd>{fmtMs(total || root.duration_ms)}</dd></div>
              <div><dt>Spans</dt><dd>{spans.length}{errors ? <span class="error-text"> ({errors} failed)</span> : null}</dd></div>
              <div><dt>Tokens</dt><dd>{fmtInt(tokens)}</dd></div>
              <div><dt>Cost</dt><dd>{fmtCost(cost)}</dd></div>
              {session ? (
                <div>
                  <dt>Session</dt>
                  <dd data-testid="trace-session">
                    <Link href={`/sessions/${encodeURIComponent(session)}${project ? `?project=${encodeURIComponent(project)}` : ""}`} title="This session as a conversation">
                      {session}
                    </Link>
                  </dd>
                </div>
              ) : null}
            </dl>
            {/* Every span of this trace with every column (GET /api/export/spans). */}
            <div class="view-actions trace-export" aria-label="Export this trace">
              {(["jsonl", "csv", "parquet"] as const).map((format) => (
                <a key={format} class="btn" download href={apiUrl("/api/export/spans", { trace_id: traceId, project, order: "asc", format })}>
                  Export {format.toUpperCase()}
                </a>
              ))}
            </div>
          </div>
          <div class="trace-body">
            <div class="tree-pane">
              <div class="tree-header">
                <span>Span</span>
                <span class="wf-scale">
                  <span>0</span>
                  <span>{fmtMs(total / 2)}</span>
                  <span>{fmtMs(total)}</span>
                </span>
              </div>
              <div class="tree" role="tree" aria-label="Span tree" ref={treeRef} onKeyDown={onKeyDown}>
                {drawn.map((n) => {
                  const id = n.span.span_id;
                  const isSel = selected?.span.span_id === id;
                  const hasKids = n.children.length > 0;
                  return (
                    <div
                      key={id}
                      role="treeitem"
                      aria-level={n.depth + 1}
                      aria-selected={isSel}
                      aria-expanded={hasKids ? !collapsed.has(id) : undefined}
                      tabIndex={isSel ? 0 : -1}
                      data-span-id={id}
                      class={`tree-row ${isSel ? "selected" : ""} ${n.span.status === "error" ? "row-error" : ""}`}
                      onClick={() => select(id)}
                    >
                      <div class="tree-name" style={{ paddingLeft: `${0.4 + n.depth * 1.1}rem` }}>
                        {hasKids ? (
                          <button
                            type="button"
                            tabIndex={-1}
                            class="twisty"
                            aria-label={collapsed.has(id) ? "Expand" : "Collapse"}
                            onClick={(e) => {
                              e.stopPropagation();
                              toggle(id);
                            }}
                          >
                            {collapsed.has(id) ? "▸" : "▾"}
                          </button>
                        ) : (
                          <span class="twisty-space" />
                        )}
                        <KindBadge kind={n.span.kind} />
                        <span class="span-name" title={n.span.name}>{n.span.name}</span>
                        <GuardrailVerdict node={n} />
                        <UsageCell node={n} subtree={usage.get(id)} />
                      </div>
                      <Waterfall node={n} t0={t0} total={total} />
                    </div>
                  );
                })}
              </div>
              {drawn.length < visible.length ? (
                <div class="pager">
                  <span class="muted">
                    Showing {drawn.length.toLocaleString("en-US")} of {visible.length.toLocaleString("en-US")} spans.
                  </span>
                  <button type="button" class="btn" onClick={() => setRowCap(visible.length)}>
                    Show all
                  </button>
                </div>
              ) : null}
              <p class="muted small keys-hint">Keys: ↑ ↓ move, ← → collapse / expand, Enter toggles.</p>
            </div>
            <div class="detail-pane" id="span-detail">
              {selected ? <SpanDetail key={selected.span.span_id} span={selected.span} traceId={traceId} project={project} traceStartMs={t0} /> : null}
            </div>
          </div>
        </>
      ) : null}
    </div>
  );
}
