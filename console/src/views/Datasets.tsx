// Datasets: names, their content-addressed versions, the rows of a version, and the diff
// between two versions.
import { EmptyState, ErrorBanner, JsonView, Loading, OffsetPager, Value } from "../components/common";
import { useApi } from "../lib/api";
import { isObj, type Obj } from "../lib/evals";
import { fmtTime } from "../lib/format";
import { Link, setQuery } from "../lib/router";

const ROWS_LIMIT = 100;

/** "v3": what the URL and the API's version parameter use. */
function versionName(v: Obj): string {
  return String(v.version ?? (v.number !== undefined ? `v${String(v.number)}` : v.version_id));
}

function RowsTable({ rows, offset }: { rows: unknown[]; offset: number }) {
  const cols = [...new Set(rows.flatMap((r) => (isObj(r) ? Object.keys(r) : ["value"])))].slice(0, 8);
  return (
    <div class="table-wrap">
      <table class="table dataset-rows">
        <thead>
          <tr>
            <th>#</th>
            {cols.map((c) => <th key={c}>{c}</th>)}
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={i}>
              <td class="num">{offset + i}</td>
              {cols.map((c) => {
                const v = isObj(r) ? r[c] : r;
                return <td key={c} class="cell-json"><Value value={v} /></td>;
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The fields whose values differ between two versions of a row: "answer: a → b". */
function FieldChanges({ before, after }: { before: unknown; after: unknown }) {
  if (!isObj(before) || !isObj(after)) return null;
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]));
  if (!keys.length) return null;
  const show = (v: unknown) => (v === undefined ? "(absent)" : typeof v === "string" ? v : JSON.stringify(v));
  return (
    <ul class="field-changes">
      {keys.map((k) => (
        <li key={k}>
          <code>{k}</code>: <del>{show(before[k])}</del> → <ins>{show(after[k])}</ins>
        </li>
      ))}
    </ul>
  );
}

function Diff({ name, a, b, project }: { name: string; a: string; b: string; project: string }) {
  const diff = useApi<Obj>(`/api/datasets/${encodeURIComponent(name)}/diff`, { a, b, project: project || undefined });
  const d = diff.data;
  const list = (k: string): unknown[] => (d && Array.isArray(d[k]) ? (d[k] as unknown[]) : []);
  const added = list("added");
  const removed = list("removed");
  const changed = list("changed");
  const counts = (d && isObj(d.counts) ? d.counts : {}) as Record<string, number>;
  return (
    <section class="section dataset-diff">
      <header class="section-head"><h3>Diff {a} → {b}{d && d.key ? ` (rows matched by key "${String(d.key)}")` : " (rows matched by content)"}</h3></header>
      <ErrorBanner error={diff.error} what="the diff" />
      {diff.loading && !d ? <Loading /> : null}
      {d ? (
        <>
          <p>
            <b class="ok-text">{counts.added ?? added.length} added</b> · <b class="error-text">{counts.removed ?? removed.length} removed</b> · <b>{counts.changed ?? changed.length} changed</b>
            {counts.unchanged !== undefined ? <span class="muted"> · {counts.unchanged} unchanged</span> : null}
          </p>
          <div class="table-wrap">
            <table class="table diff-table">
              <thead><tr><th>Change</th><th>Row</th></tr></thead>
              <tbody>
                {added.map((r, i) => <tr key={`a${i}`} class="diff-added"><td>added</td><td class="cell-json"><JsonView value={r} /></td></tr>)}
                {removed.map((r, i) => <tr key={`r${i}`} class="diff-removed"><td>removed</td><td class="cell-json"><JsonView value={r} /></td></tr>)}
                {changed.map((r, i) => {
                  const o = isObj(r) ? r : {};
                  return (
                    <tr key={`c${i}`} class="diff-changed">
                      <td>changed{o.key !== undefined ? <span class="muted"> · {d && d.key ? String(d.key) : "key"} = {JSON.stringify(o.key)}</span> : null}</td>
                      <td class="cell-json">
                        <FieldChanges before={o.before ?? o.a ?? o.old} after={o.after ?? o.b ?? o.new} />
                        <div class="side-by-side">
                          <JsonView value={o.before ?? o.a ?? o.old} />
                          <JsonView value={o.after ?? o.b ?? o.new} />
                        </div>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        </>
      ) : null}
    </section>
  );
}

export function DatasetsView({ project, query, name }: { project: string; query: URLSearchParams; name: string | null }) {
  const pq = project ? `?project=${encodeURIComponent(project)}` : "";
  const names = useApi<{ datasets: Obj[] }>("/api/datasets", { project: project || undefined });
  const detail = useApi<Obj>(name ? `/api/datasets/${encodeURIComponent(name)}/versions` : null, { project: project || undefined });
  // The API lists versions oldest first; newest first reads better.
  const versions = [...((detail.data?.versions ?? []) as Obj[])].reverse();
  const selected = query.get("version") ?? (versions[0] ? versionName(versions[0]) : "");
  const offset = Math.max(0, Number(query.get("offset") ?? 0) || 0);
  const rows = useApi<Obj>(name && selected ? `/api/datasets/${encodeURIComponent(name)}/versions/${encodeURIComponent(selected)}/rows` : null, {
    project: project || undefined,
    limit: ROWS_LIMIT,
    offset,
  });
  const diffA = query.get("diff_a") ?? "";
  const diffB = query.get("diff_b") ?? "";
  const rowList = (rows.data?.rows ?? []) as unknown[];
  const total = Number(rows.data?.row_count ?? rows.data?.total ?? rowList.length);

  return (
    <div class="view datasets-view">
      <div class="view-head"><h1>Datasets</h1></div>
      <ErrorBanner error={names.error} what="datasets" />
      {names.loading && !names.data ? <Loading /> : null}
      {names.data && (names.data.datasets ?? []).length === 0 ? (
        <EmptyState title="No datasets yet">
          <p>
            Publish one with <code>evals datasets push rows.jsonl --name qa-golden</code>, or from Python with{" "}
            <code>evals.Dataset(rows).save("qa-golden")</code>. The same rows always give the same version.
          </p>
        </EmptyState>
      ) : null}
      {names.data && (names.data.datasets ?? []).length ? (
        <div class="split">
          <nav class="panel" aria-label="Datasets">
            <ul class="list">
              {(names.data.datasets ?? []).map((d) => {
                const n = String(d.name);
                return (
                  <li key={n}>
                    <Link href={`/datasets/${encodeURIComponent(n)}${pq}`} class={n === name ? "active" : ""}>
                      {n} <span class="muted small">· {String(d.latest ?? "")} · {String(d.row_count ?? "")} rows</span>
                    </Link>
                  </li>
                );
              })}
            </ul>
          </nav>
          <div>
            {!name ? <p class="muted">Pick a dataset.</p> : null}
            <ErrorBanner error={detail.error} what={`dataset ${name}`} />
            {versions.length ? (
              <div class="panel">
                <h3>Versions of {name}</h3>
                <table class="table compact versions">
                  <thead>
                    <tr><th>Version</th><th>Id</th><th>Created</th><th class="num">Rows</th><th>Key</th><th>Description</th><th>Diff from</th><th>Diff to</th></tr>
                  </thead>
                  <tbody>
                    {versions.map((v) => {
                      const id = versionName(v);
                      return (
                        <tr key={id} class={`clickable ${id === selected ? "selected" : ""}`} data-version={id}>
                          <td>
                            <button type="button" class={`btn-link ${id === selected ? "flip" : ""}`} onClick={() => setQuery({ version: id, offset: null })}>
                              {id}
                            </button>
                          </td>
                          <td><code>{String(v.version_id ?? "").slice(0, 12)}</code></td>
                          <td class="nowrap">{fmtTime(String(v.created_at ?? ""))}</td>
                          <td class="num">{String(v.row_count ?? "")}</td>
                          <td>{v.key ? <code>{String(v.key)}</code> : <span class="muted">content</span>}</td>
                          <td class="ellipsis" title={String(v.description ?? "")}>{String(v.description ?? "")}</td>
                          <td><input type="radio" name="diff_a" aria-label={`Diff from ${id}`} checked={diffA === id} onChange={() => setQuery({ diff_a: id })} /></td>
                          <td><input type="radio" name="diff_b" aria-label={`Diff to ${id}`} checked={diffB === id} onChange={() => setQuery({ diff_b: id })} /></td>
                        </tr>
                      );
                    })}
                  </tbody>
                </table>
              </div>
            ) : null}
            {name && diffA && diffB && diffA !== diffB ? <Diff name={name} a={diffA} b={diffB} project={project} /> : null}
            {selected ? (
              <section class="section">
                <header class="section-head">
                  <h3>Rows of {name}:{selected}</h3>
                  <span class="muted small">{total} rows</span>
                </header>
                <ErrorBanner error={rows.error} what="rows" />
                {rows.loading && !rows.data ? <Loading /> : null}
                {rowList.length ? <RowsTable rows={rowList} offset={offset} /> : null}
                <OffsetPager offset={offset} limit={ROWS_LIMIT} total={total} onChange={(o) => setQuery({ offset: o ? String(o) : null })} />
              </section>
            ) : null}
          </div>
        </div>
      ) : null}
    </div>
  );
}
