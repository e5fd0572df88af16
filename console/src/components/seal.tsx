// A run's seal: whether its signed record still verifies (checked by the collector with
// common.records each time the page loads), and the manifest it was signed with.
import { useApi } from "../lib/api";
import { isObj, type Obj } from "../lib/evals";
import { Value } from "./common";

const LABELS: Record<string, string> = {
  verified: "sealed · verified",
  broken: "sealed · BROKEN",
  unsigned: "sealed · unsigned",
  open: "running · not sealed",
};

const TITLES: Record<string, string> = {
  verified: "Every row, summary and the verdict match the signed manifest, and the signature is valid.",
  broken: "The stored record no longer matches its signed manifest: something was altered after the run.",
  unsigned: "The run is finished and cannot change, but it has no signed manifest.",
  open: "The run is still running: rows can still be added.",
};

function useSeal(runId: string, project: string): { seal: Obj | undefined; error: unknown } {
  const res = useApi<Obj>(runId ? `/api/evals/runs/${encodeURIComponent(runId)}/manifest` : null, { project: project || undefined });
  return { seal: res.data, error: res.error };
}

/** The seal state as a badge (title explains it). */
export function SealBadge({ runId, project }: { runId: string; project: string }) {
  const { seal } = useSeal(runId, project);
  if (!seal) return null;
  const state = String(seal.state ?? "unsigned");
  return (
    <span class={`badge seal seal-${state}`} data-seal={state} title={seal.problem ? String(seal.problem) : TITLES[state]}>
      {LABELS[state] ?? state}
    </span>
  );
}

const FACTS: [string, (m: Obj) => unknown][] = [
  ["Log", (m) => (isObj(m.log) ? `#${String(m.log.seq)} · after ${String(m.log.prev).slice(0, 16)}…` : null)],
  ["Rows", (m) => (isObj(m.rows) ? `${String(m.rows.count)} · chain head ${String(m.rows.chain_head).slice(0, 16)}…` : null)],
  ["Dataset", (m) => (isObj(m.dataset) ? `${String(m.dataset.name ?? "–")}:${String(m.dataset.version ?? "–")} · ${String(m.dataset.version_id).slice(0, 16)}…` : null)],
  ["Suite", (m) => (isObj(m.suite) ? `${String(m.suite.label)} · sha256 ${String(m.suite.sha256).slice(0, 16)}…` : null)],
  ["Task", (m) => (isObj(m.task) ? `${String(m.task.name)} · code ${String(m.task.code_sha256 ?? "–").slice(0, 16)}` : null)],
  ["Scorers", (m) => (Array.isArray(m.scorers) ? (m.scorers as Obj[]).map((s) => String(s.name)).join(", ") : null)],
  ["Models", (m) => (isObj(m.models) && Object.keys(m.models).length ? Object.entries(m.models).map(([k, v]) => `${k}=${String(v)}`).join(", ") : null)],
  ["Code", (m) => (isObj(m.code) && m.code.git_commit ? `${String(m.code.git_commit).slice(0, 12)}${m.code.git_dirty ? " (dirty)" : ""}` : null)],
  ["Python", (m) => (isObj(m.environment) ? `${String(m.environment.python)} · ${Object.keys(isObj(m.environment.packages) ? m.environment.packages : {}).length} packages` : null)],
];

/** The seal with what was checked, and the signed manifest (facts + the full JSON). */
export function SealPanel({ runId, project }: { runId: string; project: string }) {
  const { seal } = useSeal(runId, project);
  if (!seal) return null;
  const state = String(seal.state ?? "unsigned");
  const manifest = isObj(seal.manifest) ? seal.manifest : null;
  const checked = Array.isArray(seal.checked) ? (seal.checked as unknown[]).map(String) : [];
  return (
    <div class={`panel seal-panel seal-${state}`} data-seal={state}>
      <h3>
        Record <SealBadge runId={runId} project={project} />
        {seal.key_id ? <span class="muted small"> signed by <code>{String(seal.key_id)}</code></span> : null}
      </h3>
      {seal.problem ? <p class="error-text seal-problem">{String(seal.problem)}</p> : null}
      {checked.length ? (
        <ul class="small seal-checked">
          {checked.map((c) => <li key={c}>✓ {c}</li>)}
        </ul>
      ) : null}
      {manifest ? (
        <>
          <dl class="facts inline small manifest-facts">
            {FACTS.map(([label, get]) => {
              const v = get(manifest);
              return v ? <div key={label}><dt>{label}</dt><dd>{String(v)}</dd></div> : null;
            })}
          </dl>
          <details class="manifest-json">
            <summary>Signed manifest</summary>
            <Value value={manifest} />
          </details>
        </>
      ) : null}
    </div>
  );
}
