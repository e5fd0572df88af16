// The console shell: navigation, the project switcher, and the route table.
import { useEffect } from "preact/hooks";
import { ErrorBanner } from "./components/common";
import { Link, match, navigate, useLocation, withQuery } from "./lib/router";
import { defaultProject, rememberProject, useProjects } from "./lib/project";
import { TracesView } from "./views/Traces";
import { TraceView } from "./views/Trace";
import { MonitoringView } from "./views/Monitoring";
import { EvalsView } from "./views/Evals";
import { EvalRunView } from "./views/EvalRun";
import { EvalCompareView } from "./views/EvalCompare";
import { DatasetsView } from "./views/Datasets";
import { AlertsView } from "./views/Alerts";
import { MonitorsView } from "./views/Monitors";
import { PromptsView } from "./views/Prompts";
import { PlaygroundView } from "./views/Playground";
import { SessionsView, SessionView } from "./views/Sessions";

const NAV = [
  { href: "/traces", label: "Traces", prefix: "/traces" },
  { href: "/sessions", label: "Sessions", prefix: "/sessions" },
  { href: "/monitoring", label: "Monitoring", prefix: "/monitoring" },
  { href: "/evals", label: "Evaluations", prefix: "/evals" },
  { href: "/datasets", label: "Datasets", prefix: "/datasets" },
  { href: "/monitors", label: "Monitors", prefix: "/monitors" },
  { href: "/alerts", label: "Alerts", prefix: "/alerts" },
  { href: "/prompts", label: "Prompts", prefix: "/prompts" },
  { href: "/playground", label: "Playground", prefix: "/playground" },
];

function ProjectSwitcher({ project }: { project: string }) {
  const projects = useProjects();
  const list = projects.data?.projects ?? [];
  useEffect(() => {
    if (!project && projects.data) navigate(withQuery({ project: defaultProject(list) }), true);
  }, [project, projects.data]);
  const names = list.map((p) => p.name);
  if (project && !names.includes(project)) names.unshift(project);
  return (
    <label class="project-switcher">
      <span>Project</span>
      <select
        aria-label="Project"
        value={project}
        onFocus={projects.reload}
        onChange={(e) => {
          const name = (e.target as HTMLSelectElement).value;
          rememberProject(name);
          // Filters and cursors belong to the old project; keep only the range.
          const q = new URLSearchParams(location.search);
          const keep = new URLSearchParams();
          keep.set("project", name);
          if (q.get("range")) keep.set("range", q.get("range")!);
          const path = location.pathname.startsWith("/traces/") ? "/traces" : location.pathname.startsWith("/sessions/") ? "/sessions" : location.pathname;
          navigate(`${path}?${keep}`);
        }}
      >
        {names.length === 0 ? <option value="">(no projects yet)</option> : null}
        {names.map((n) => (
          <option key={n} value={n}>
            {n}
          </option>
        ))}
      </select>
      {projects.error ? <span class="error-inline" title={projects.error.message}>projects unavailable</span> : null}
    </label>
  );
}

function NotFound({ path }: { path: string }) {
  return <ErrorBanner what="this page" error={new Error(`No console view at ${path}`)} />;
}

export function App() {
  const loc = useLocation();
  const project = loc.query.get("project") ?? "";
  useEffect(() => {
    if (project) rememberProject(project);
  }, [project]);
  useEffect(() => {
    if (loc.path === "/" || loc.path === "") navigate(`/traces${location.search}`, true);
  }, [loc.path]);

  const path = loc.path;
  let body;
  let m: Record<string, string> | null;
  if (path === "/" || path === "/traces") body = <TracesView project={project} query={loc.query} />;
  else if ((m = match("/traces/:id", path))) body = <TraceView project={project} traceId={m.id} query={loc.query} />;
  else if (path === "/sessions") body = <SessionsView project={project} query={loc.query} />;
  else if ((m = match("/sessions/:id", path))) body = <SessionView project={project} sessionId={m.id} query={loc.query} />;
  else if (path === "/monitoring") body = <MonitoringView project={project} query={loc.query} />;
  else if (path === "/evals") body = <EvalsView project={project} query={loc.query} />;
  else if (path === "/evals/compare") body = <EvalCompareView project={project} query={loc.query} />;
  else if ((m = match("/evals/runs/:id", path))) body = <EvalRunView project={project} runId={m.id} query={loc.query} />;
  else if (path === "/datasets") body = <DatasetsView project={project} query={loc.query} name={null} />;
  else if ((m = match("/datasets/:name", path))) body = <DatasetsView project={project} query={loc.query} name={m.name} />;
  else if (path === "/monitors") body = <MonitorsView project={project} />;
  else if (path === "/alerts") body = <AlertsView project={project} query={loc.query} />;
  else if (path === "/prompts") body = <PromptsView project={project} query={loc.query} name={null} />;
  else if ((m = match("/prompts/:name", path))) body = <PromptsView project={project} query={loc.query} name={m.name} />;
  else if (path === "/playground") body = <PlaygroundView project={project} query={loc.query} />;
  else body = <NotFound path={path} />;

  const q = project ? `?project=${encodeURIComponent(project)}` : "";
  return (
    <div class="app">
      <header class="topbar">
        <Link href={`/traces${q}`} class="brand">
          <span class="brand-mark" aria-hidden="true">◉</span> Spyglass
        </Link>
        <nav class="nav" aria-label="Views">
          {NAV.map((n) => (
            <Link key={n.href} href={`${n.href}${q}`} class={path.startsWith(n.prefix) ? "active" : ""} aria-current={path.startsWith(n.prefix) ? "page" : undefined}>
              {n.label}
            </Link>
          ))}
        </nav>
        <div class="topbar-right">
          <ProjectSwitcher project={project} />
        </div>
      </header>
      <main class="content">{body}</main>
    </div>
  );
}
