// Sessions: a project's conversations (newest activity first, with their totals), and one
// session read as a conversation: each trace is a turn, the user's input then the answer,
// with that turn's tokens, cost and latency and a link to its trace.
import { useMemo } from "preact/hooks";
import { extractMessages } from "../components/chat";
import { EmptyState, ErrorBanner, FoldedText, Loading, OffsetPager, Pager, StatusBadge, Value, useCursors } from "../components/common";
import { RangePicker, TextFilter } from "../components/filters";
import { useApi } from "../lib/api";
import { fmtAgo, fmtCost, fmtInt, fmtMs, fmtTime, parseJson, parseTime, rangeParams } from "../lib/format";
import { Link, navigate } from "../lib/router";
import type { SessionDetail, SessionList, SessionSummary, SessionTurn } from "../lib/types";

const PAGE_SIZE = 50;
const TURNS_PAGE = 200;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The text a side of a turn said: a plain string; in a chat request or completion, the
 * last message of `role` (the new user message, the assistant's answer); an object with a
 * single text field (`{question: "..."}`). Null when the value has no such text.
 */
export function turnText(raw: unknown, role: "user" | "assistant"): string | null {
  const v = parseJson(raw);
  if (typeof v === "string") return v;
  const msgs = extractMessages(v);
  if (msgs && msgs.length) {
    const own = msgs.filter((m) => m.role === role && m.text);
    const pick = own.length ? own[own.length - 1] : msgs[msgs.length - 1];
    if (pick.text) return pick.text;
  }
  if (isObj(v)) {
    const texts = Object.values(v).filter((x): x is string => typeof x === "string");
    if (texts.length === 1 && Object.keys(v).length === 1) return texts[0];
  }
  return null;
}

function Said({ role, value, error }: { role: "user" | "assistant"; value: unknown; error?: string | null }) {
  const text = turnText(value, role);
  const parsed = parseJson(value);
  const empty = parsed === null || parsed === undefined || parsed === "";
  return (
    <div class={`msg role-${role}`} data-role={role}>
      <div class="msg-role">{role === "user" ? "user" : "assistant"}</div>
      {text !== null ? (
        <FoldedText text={text} />
      ) : !empty ? (
        <Value value={parsed} />
      ) : error ? null : (
        <span class="muted">{role === "user" ? "No input recorded." : "No output recorded."}</span>
      )}
      {error && role === "assistant" ? <p class="error-text turn-error">{error}</p> : null}
    </div>
  );
}

function Turn({ t, n, pq }: { t: SessionTurn; n: number; pq: string }) {
  return (
    <li class={`turn ${t.status === "error" ? "turn-error" : ""}`} data-trace-id={t.trace_id} aria-label={`Turn ${n}`}>
      <div class="turn-head">
        <span class="turn-n">#{n}</span>
        <span class="muted" title={fmtAgo(t.start_time)}>{fmtTime(t.start_time)}</span>
        <span class="turn-op">{t.root_name || "(unnamed)"}</span>
        <StatusBadge status={t.status} />
        <span class="turn-usage" data-testid="turn-usage">
          {fmtInt(t.total_tokens)} tok · {fmtCost(t.cost_usd)} · {fmtMs(t.duration_ms)}
        </span>
        {t.model ? <span class="muted small">{t.model}</span> : null}
        <Link href={`/traces/${t.trace_id}${pq}`} class="turn-trace">
          trace →
        </Link>
      </div>
      <Said role="user" value={t.input} />
      <Said role="assistant" value={t.output} error={t.error} />
    </li>
  );
}

/** One session: its totals, then its traces oldest first as a conversation. */
export function SessionView({ project, sessionId, query }: { project: string; sessionId: string; query: URLSearchParams }) {
  const offset = Math.max(0, Number(query.get("offset") ?? 0) || 0);
  const detail = useApi<SessionDetail>(`/api/sessions/${encodeURIComponent(sessionId)}`, { project: project || undefined, offset: offset || undefined, limit: TURNS_PAGE });
  const d = detail.data;
  const shown = d?.project ?? project;
  const pq = shown ? `?project=${encodeURIComponent(shown)}` : "";
  const totals = d?.totals;
  const span = totals ? (parseTime(totals.last_time)?.getTime() ?? 0) - (parseTime(totals.first_time)?.getTime() ?? 0) : null;
  const tracesHref = `/traces?${new URLSearchParams({ ...(shown ? { project: shown } : {}), range: "30d", session_id: sessionId })}`;
  return (
    <div class="view session-view">
      <div class="breadcrumb">
        <Link href={`/sessions${pq}`}>← Sessions</Link>
      </div>
      <div class="view-head">
        <h1>
          Session <code>{sessionId}</code>
        </h1>
        <div class="view-actions">
          <Link href={tracesHref} class="btn">
            In the trace list
          </Link>
          <button type="button" class="btn" onClick={detail.reload}>
            Refresh
          </button>
        </div>
      </div>
      <ErrorBanner error={detail.error} what="this session" />
      {detail.loading && !d ? <Loading /> : null}
      {totals ? (
        <dl class="facts inline session-facts" aria-label="Session totals">
          <div><dt>Turns</dt><dd data-testid="session-turns">{fmtInt(totals.trace_count)}</dd></div>
          {totals.user_id ? <div><dt>User</dt><dd>{totals.user_id}</dd></div> : null}
          <div><dt>Tokens</dt><dd data-testid="session-tokens">{fmtInt(totals.total_tokens)}</dd></div>
          <div><dt>Cost</dt><dd data-testid="session-cost">{fmtCost(totals.cost_usd)}</dd></div>
          <div><dt>Errors</dt><dd class={totals.error_count ? "error-text" : ""}>{fmtInt(totals.error_count)}</dd></div>
          <div><dt>First</dt><dd>{fmtTime(totals.first_time)}</dd></div>
          <div><dt>Last</dt><dd>{fmtTime(totals.last_time)}</dd></div>
          {span !== null ? <div><dt>Duration</dt><dd>{fmtMs(span)}</dd></div> : null}
        </dl>
      ) : null}
      {d ? (
        <>
          <ol class="turns" aria-label="Conversation">
            {d.turns.map((t, i) => (
              <Turn key={t.trace_id} t={t} n={d.offset + i + 1} pq={pq} />
            ))}
          </ol>
          <OffsetPager offset={d.offset} limit={TURNS_PAGE} total={d.turns_total} onChange={(o) => navigate(`/sessions/${encodeURIComponent(sessionId)}?${new URLSearchParams({ ...(project ? { project } : {}), ...(o ? { offset: String(o) } : {}) })}`)} />
        </>
      ) : null}
    </div>
  );
}

function Row({ s, project }: { s: SessionSummary; project: string }) {
  const href = `/sessions/${encodeURIComponent(s.session_id)}?project=${encodeURIComponent(project)}`;
  return (
    <tr class={`session-row ${s.error_count ? "row-error" : ""}`} data-session-id={s.session_id} onClick={(e) => {
      if ((e.target as HTMLElement).closest("a")) return;
      navigate(href);
    }}>
      <td class="ellipsis"><Link href={href}>{s.session_id}</Link></td>
      <td class="ellipsis">{s.user_id ?? <span class="muted">–</span>}</td>
      <td class="num">{fmtInt(s.trace_count)}</td>
      <td class="num" title={`${fmtInt(s.input_tokens)} in / ${fmtInt(s.output_tokens)} out`}>{fmtInt(s.total_tokens)}</td>
      <td class="num">{fmtCost(s.cost_usd)}</td>
      <td class={`num ${s.error_count ? "error-text" : ""}`}>{fmtInt(s.error_count)}</td>
      <td class="nowrap">{fmtTime(s.first_time)}</td>
      <td class="nowrap" title={fmtTime(s.last_time)}>{fmtAgo(s.last_time)}</td>
    </tr>
  );
}

/** The project's sessions active in the range, newest activity first. */
export function SessionsView({ project, query }: { project: string; query: URLSearchParams }) {
  const range = query.get("range") ?? "24h";
  const user = query.get("user_id") ?? "";
  const key = [range, query.get("since"), query.get("until"), user].join("|");
  const { cursor, cursors, setCursors } = useCursors(`${key}|${project}`);
  const params = useMemo(() => {
    const r = rangeParams(range, query.get("since"), query.get("until"));
    return { project, since: r.since, until: r.until, user_id: user || undefined, limit: PAGE_SIZE, cursor };
  }, [key, project, cursor]);
  const list = useApi<SessionList>(project ? "/api/sessions" : null, params);
  const sessions = list.data?.sessions ?? [];
  return (
    <div class="view sessions-view">
      <div class="view-head">
        <h1>Sessions</h1>
        <div class="view-actions">
          <button type="button" class="btn" onClick={list.reload}>
            Refresh
          </button>
        </div>
      </div>
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="Session filters">
        <RangePicker query={query} />
        <TextFilter param="user_id" label="User" query={query} valuesField="user_id" project={project} />
      </form>
      <ErrorBanner error={list.error} what="sessions" />
      {list.loading && !list.data ? <Loading /> : null}
      {list.data && sessions.length === 0 ? (
        <EmptyState title="No sessions in this range">
          <p>
            A session groups the traces of one conversation. Set its id with{" "}
            <code>with tracer.attributes(session_id="...")</code> around each turn (or the OpenTelemetry attribute <code>session.id</code>).
          </p>
        </EmptyState>
      ) : null}
      {sessions.length ? (
        <div class="table-wrap">
          <table class="table sessions-table" aria-label="Sessions" aria-busy={list.loading}>
            <thead>
              <tr>
                <th>Session</th>
                <th>User</th>
                <th class="num">Traces</th>
                <th class="num">Tokens</th>
                <th class="num">Cost</th>
                <th class="num">Errors</th>
                <th>First</th>
                <th>Last</th>
              </tr>
            </thead>
            <tbody>
              {sessions.map((s) => (
                <Row key={`${s.project}/${s.session_id}`} s={s} project={project} />
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {list.data ? <Pager cursors={cursors} setCursors={setCursors} next={list.data.next_cursor} /> : null}
    </div>
  );
}
