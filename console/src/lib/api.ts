// The console talks to the collector only through its public HTTP API (the same one any
// script uses). Every failure becomes an ApiError carrying the server's own message, so
// views can show it instead of swallowing it.
import { useCallback, useEffect, useRef, useState } from "preact/hooks";

export class ApiError extends Error {
  status: number;
  path: string;
  constructor(message: string, status: number, path: string) {
    super(message);
    this.status = status;
    this.path = path;
  }
}

const KEY_STORAGE = "spyglass.apiKey";

/** The API key the user entered (needed only when the collector has keys). */
export function apiKey(): string {
  try {
    return localStorage.getItem(KEY_STORAGE) ?? "";
  } catch {
    return "";
  }
}

export function setApiKey(key: string): void {
  try {
    if (key) localStorage.setItem(KEY_STORAGE, key);
    else localStorage.removeItem(KEY_STORAGE);
  } catch {
    /* private mode: the key lasts for this page only */
  }
}

function headers(extra: Record<string, string>): Record<string, string> {
  const key = apiKey();
  return key ? { ...extra, Authorization: `Bearer ${key}` } : extra;
}

export type Params = Record<string, string | number | boolean | null | undefined>;

/** Build "/api/x?a=1" dropping empty values, so URLs stay short and shareable. */
export function apiUrl(path: string, params?: Params): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params ?? {})) {
    if (v === undefined || v === null || v === "") continue;
    qs.set(k, String(v));
  }
  const s = qs.toString();
  return s ? `${path}?${s}` : path;
}

async function readError(res: Response, path: string): Promise<ApiError> {
  let message = `${res.status} ${res.statusText}`;
  try {
    const text = await res.text();
    try {
      const body = JSON.parse(text);
      if (body && typeof body === "object") {
        const detail = body.error ?? body.detail ?? body.message;
        if (detail) message = `${res.status}: ${typeof detail === "string" ? detail : JSON.stringify(detail)}`;
      }
    } catch {
      if (text) message = `${res.status}: ${text.slice(0, 300)}`;
    }
  } catch {
    /* the status line is all we have */
  }
  return new ApiError(message, res.status, path);
}

export async function apiGet<T>(path: string, params?: Params, signal?: AbortSignal): Promise<T> {
  const url = apiUrl(path, params);
  let res: Response;
  try {
    res = await fetch(url, { signal, headers: headers({ Accept: "application/json" }) });
  } catch (e) {
    if ((e as Error).name === "AbortError") throw e;
    throw new ApiError(`Cannot reach the collector (${(e as Error).message})`, 0, url);
  }
  if (!res.ok) throw await readError(res, url);
  return (await res.json()) as T;
}

export async function apiPost<T>(path: string, body: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method: "POST",
      headers: headers({ "Content-Type": "application/json", Accept: "application/json" }),
      body: JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(`Cannot reach the collector (${(e as Error).message})`, 0, path);
  }
  if (!res.ok) throw await readError(res, path);
  const text = await res.text();
  return (text ? JSON.parse(text) : {}) as T;
}

export async function apiDelete(path: string): Promise<void> {
  let res: Response;
  try {
    res = await fetch(path, { method: "DELETE", headers: headers({ Accept: "application/json" }) });
  } catch (e) {
    throw new ApiError(`Cannot reach the collector (${(e as Error).message})`, 0, path);
  }
  if (!res.ok) throw await readError(res, path);
}

export interface ApiState<T> {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  reload: () => void;
}

/**
 * Fetch `path` with `params` whenever either changes; stale responses are aborted so a
 * fast typist never sees an older answer overwrite a newer one. `path = null` skips.
 */
export function useApi<T>(path: string | null, params?: Params): ApiState<T> {
  const key = path === null ? null : apiUrl(path, params);
  const [state, setState] = useState<{ data?: T; error?: ApiError; loading: boolean }>({
    loading: key !== null,
  });
  const [tick, setTick] = useState(0);
  const keyRef = useRef(key);
  keyRef.current = key;
  useEffect(() => {
    if (key === null || path === null) {
      setState({ loading: false });
      return;
    }
    const ctrl = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    apiGet<T>(path, params, ctrl.signal).then(
      (data) => setState({ data, loading: false }),
      (e: unknown) => {
        if ((e as Error).name === "AbortError") return;
        const err = e instanceof ApiError ? e : new ApiError(String(e), 0, key);
        setState({ error: err, loading: false });
      },
    );
    return () => ctrl.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}
