// The current project lives in the URL (?project=) so links carry it; the last one used
// is remembered for the next visit.
import { useApi } from "./api";

export interface ProjectInfo {
  name: string;
  span_count: number;
  trace_count: number;
  last_seen: string | null;
}

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

export function useProjects() {
  return useApi<{ projects: ProjectInfo[] }>("/api/projects");
}

/** Pick the project to show when the URL names none. */
export function defaultProject(projects: ProjectInfo[]): string {
  const remembered = rememberedProject();
  if (remembered && projects.some((p) => p.name === remembered)) return remembered;
  const sorted = [...projects].sort((a, b) => String(b.last_seen ?? "").localeCompare(String(a.last_seen ?? "")));
  return sorted[0]?.name ?? "default";
}
