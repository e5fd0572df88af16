// A small History-API router: the console's state (view, project, filters) lives in the
// URL so any view can be shared by copying the address bar.
import { h, type ComponentChildren } from "preact";
import { useEffect, useReducer } from "preact/hooks";

const listeners = new Set<() => void>();

function notify(): void {
  for (const fn of listeners) fn();
}

if (typeof window !== "undefined") window.addEventListener("popstate", notify);

/** Go to `url` (path + query) inside the app. */
export function navigate(url: string, replace = false): void {
  if (url === location.pathname + location.search) return;
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  notify();
  if (!replace) window.scrollTo(0, 0);
}

export interface Loc {
  path: string;
  query: URLSearchParams;
}

/** Re-render the caller whenever the URL changes. */
export function useLocation(): Loc {
  const [, force] = useReducer((x: number) => x + 1, 0);
  useEffect(() => {
    const fn = () => force(undefined as never);
    listeners.add(fn);
    return () => {
      listeners.delete(fn);
    };
  }, []);
  return { path: location.pathname, query: new URLSearchParams(location.search) };
}

/** Merge `updates` into the current query string (empty values are removed). */
export function withQuery(updates: Record<string, string | null | undefined>, path?: string): string {
  const q = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(updates)) {
    if (v === null || v === undefined || v === "") q.delete(k);
    else q.set(k, v);
  }
  const s = q.toString();
  return (path ?? location.pathname) + (s ? `?${s}` : "");
}

/** Update query parameters in place (replaceState: filters should not flood history). */
export function setQuery(updates: Record<string, string | null | undefined>, replace = true): void {
  navigate(withQuery(updates), replace);
}

/** Match "/traces/:id" style patterns; returns the named parts or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split("/").filter(Boolean);
  const s = path.split("/").filter(Boolean);
  if (p.length !== s.length) return null;
  const out: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    if (p[i].startsWith(":")) out[p[i].slice(1)] = decodeURIComponent(s[i]);
    else if (p[i] !== s[i]) return null;
  }
  return out;
}

interface LinkProps {
  href: string;
  class?: string;
  title?: string;
  children?: ComponentChildren;
  "aria-current"?: "page" | undefined;
}

/** An <a> that navigates inside the app but still opens in a new tab on ctrl/cmd-click. */
export function Link(props: LinkProps) {
  const onClick = (e: MouseEvent) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(props.href);
  };
  return h("a", { ...props, onClick }, props.children);
}
