// Turns a trace's flat span list into a tree (children ordered by start time).
import type { Span } from "./types";
import { parseTime } from "./format";

export interface SpanNode {
  span: Span;
  depth: number;
  children: SpanNode[];
  startMs: number;
  endMs: number;
}

export function buildTree(spans: Span[]): SpanNode[] {
  const nodes = new Map<string, SpanNode>();
  for (const s of spans) {
    const start = parseTime(s.start_time)?.getTime() ?? 0;
    const end = parseTime(s.end_time)?.getTime() ?? start + (s.duration_ms ?? 0);
    nodes.set(s.span_id, { span: s, depth: 0, children: [], startMs: start, endMs: Math.max(end, start + (s.duration_ms ?? 0)) });
  }
  const roots: SpanNode[] = [];
  for (const n of nodes.values()) {
    const parent = n.span.parent_span_id ? nodes.get(n.span.parent_span_id) : undefined;
    // A span whose parent never arrived is shown as a root rather than dropped.
    if (parent && parent !== n) parent.children.push(n);
    else roots.push(n);
  }
  const order = (a: SpanNode, b: SpanNode) => a.startMs - b.startMs || a.span.name.localeCompare(b.span.name);
  const setDepth = (list: SpanNode[], depth: number) => {
    list.sort(order);
    for (const n of list) {
      n.depth = depth;
      setDepth(n.children, depth + 1);
    }
  };
  setDepth(roots, 0);
  return roots;
}

/** Depth-first list of the nodes whose ancestors are all expanded. */
export function visibleNodes(roots: SpanNode[], collapsed: Set<string>): SpanNode[] {
  const out: SpanNode[] = [];
  const walk = (list: SpanNode[]) => {
    for (const n of list) {
      out.push(n);
      if (!collapsed.has(n.span.span_id)) walk(n.children);
    }
  };
  walk(roots);
  return out;
}

export function parentMap(roots: SpanNode[]): Map<string, SpanNode | null> {
  const m = new Map<string, SpanNode | null>();
  const walk = (list: SpanNode[], parent: SpanNode | null) => {
    for (const n of list) {
      m.set(n.span.span_id, parent);
      walk(n.children, n);
    }
  };
  walk(roots, null);
  return m;
}

export interface Usage {
  tokens: number;
  cost: number;
}

/** Tokens and cost of each span's subtree (the span plus all its descendants), by span id. */
export function subtreeUsage(roots: SpanNode[]): Map<string, Usage> {
  const out = new Map<string, Usage>();
  const walk = (n: SpanNode): Usage => {
    const own = spanUsage(n.span);
    const total = { ...own };
    for (const c of n.children) {
      const u = walk(c);
      total.tokens += u.tokens;
      total.cost += u.cost;
    }
    out.set(n.span.span_id, total);
    return total;
  };
  for (const r of roots) walk(r);
  return out;
}

/** One span's own tokens (total, or input + output) and cost. */
export function spanUsage(s: Span): Usage {
  return { tokens: s.total_tokens ?? (s.input_tokens ?? 0) + (s.output_tokens ?? 0), cost: s.cost_usd ?? 0 };
}
