// The current project lives in the URL (?project=) so links carry it; the last one used
// is remembered for the next visit.
import { useEffect, useState } from "preact/hooks";
import { ApiError, apiGet } from "./api";
import type { Project, Projects } from "./types";

export type ProjectInfo = Project;

const KEY = "spyglass.project";

export function rememberProject(name: string): void {
  try {
    localStorage.setItem(KEY, name);
  } catch {
    /* private mode: nothing to remember */
  }
}

export function rememberedProject(): string | null {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null;
  }
}

type ProjectsAnswer = Projects;
let shared: { at: number; promise: Promise<ProjectsAnswer> } | null = null;
const SHARE_MS = 5000;

/** /api/projects, fetched once for every component that asks within a few seconds
 * (the switcher and the empty-state check render together). */
export function useProjects(pollMs = 0): { data?: ProjectsAnswer; error?: ApiError; reload: () => void } {
  const [state, setState] = useState<{ data?: ProjectsAnswer; error?: ApiError }>({});
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    if (!shared || Date.now() - shared.at > SHARE_MS || tick > 0) shared = { at: Date.now(), promise: apiGet<ProjectsAnswer>("/api/projects") };
    shared.promise.then(
      (data) => live && setState({ data }),
      (e: unknown) => live && setState({ error: e instanceof ApiError ? e : new ApiError(String(e), 0, "/api/projects") }),
    );
    return () => {
      live = false;
    };
  }, [tick]);
  // Polling (only while a view waits for a first trace) picks up projects as they appear.
  useEffect(() => {
    if (!pollMs) return;
    const id = window.setInterval(() => setTick((t) => t + 1), pollMs);
    return () => window.clearInterval(id);
  }, [pollMs]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}

/** Pick the project to show when the URL names none. */
export function defaultProject(projects: ProjectInfo[]): string {
  const remembered = rememberedProject();
  if (remembered && projects.some((p) => p.name === remembered)) return remembered;
  const sorted = [...projects].sort((a, b) => String(b.last_seen ?? "").localeCompare(String(a.last_seen ?? "")));
  return sorted[0]?.name ?? "default";
}
