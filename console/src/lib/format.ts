// Display helpers shared by the views. Times from the API are RFC 3339 strings.

export function parseTime(s: string | null | undefined): Date | null {
  if (!s) return null;
  // ClickHouse may answer "2026-01-01 10:00:00.123" (no T, no zone): that is UTC.
  const iso = /[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : s.replace(" ", "T") + "Z";
  const d = new Date(iso.includes("T") ? iso : iso.replace(" ", "T"));
  return Number.isNaN(d.getTime()) ? null : d;
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** "2026-11-25 06:31:07" in the viewer's local time. */
export function fmtTime(s: string | null | undefined, withMs = false): string {
  const d = parseTime(s);
  if (!d) return s ?? "";
  const base = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return withMs ? `${base}.${pad(d.getMilliseconds(), 3)}` : base;
}

/** "3 min ago" style, for the most recent items. */
export function fmtAgo(s: string | null | undefined): string {
  const d = parseTime(s);
  if (!d) return "";
  const sec = Math.round((Date.now() - d.getTime()) / 1000);
  if (sec < 60) return `${Math.max(sec, 0)} s ago`;
  if (sec < 3600) return `${Math.round(sec / 60)} min ago`;
  if (sec < 86400) return `${Math.round(sec / 3600)} h ago`;
  return `${Math.round(sec / 86400)} d ago`;
}

export function fmtMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "–";
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}

export function fmtCost(usd: number | null | undefined): string {
  if (usd === null || usd === undefined || Number.isNaN(usd)) return "–";
  if (usd === 0) return "$0";
  if (usd < 0.01) {
    // Two significant digits without exponent notation: $0.000025, $0.0012.
    const digits = Math.min(10, Math.max(4, 1 - Math.floor(Math.log10(usd))));
    return `$${usd.toFixed(digits)}`;
  }
  if (usd < 1) return `$${usd.toFixed(4)}`;
  return `$${usd.toFixed(2)}`;
}

export function fmtInt(n: number | null | undefined): string {
  if (n === null || n === undefined || Number.isNaN(n)) return "–";
  return Math.round(n).toLocaleString("en-US");
}

export function fmtNum(n: number | null | undefined, digits = 3): string {
  if (n === null || n === undefined || Number.isNaN(Number(n))) return "–";
  const v = Number(n);
  if (Number.isInteger(v)) return v.toLocaleString("en-US");
  return v.toFixed(digits);
}

export function fmtPct(x: number | null | undefined, digits = 1): string {
  if (x === null || x === undefined || Number.isNaN(x)) return "–";
  return `${(x * 100).toFixed(digits)}%`;
}

/** Parse a JSON text column; strings that are not JSON come back as themselves. */
export function parseJson(v: unknown): unknown {
  if (typeof v !== "string") return v;
  const t = v.trim();
  if (!t) return v === "" ? null : v;
  if (!"[{\"".includes(t[0]) && !/^(-?\d|true|false|null)/.test(t)) return v;
  try {
    return JSON.parse(t);
  } catch {
    return v;
  }
}

export interface RangeSpec {
  since?: string;
  until?: string;
  /** Width in seconds, used to pick a chart bucket. */
  seconds: number;
}

export const RANGE_PRESETS: Array<{ id: string; label: string; hours: number }> = [
  { id: "15m", label: "Last 15 minutes", hours: 0.25 },
  { id: "1h", label: "Last hour", hours: 1 },
  { id: "6h", label: "Last 6 hours", hours: 6 },
  { id: "24h", label: "Last 24 hours", hours: 24 },
  { id: "7d", label: "Last 7 days", hours: 24 * 7 },
  { id: "30d", label: "Last 30 days", hours: 24 * 30 },
];

/** Turn the URL's range (a preset id, or custom since/until) into API parameters. */
export function rangeParams(range: string, since?: string | null, until?: string | null): RangeSpec {
  if (range === "custom") {
    const s = parseTime(since ?? undefined);
    const u = parseTime(until ?? undefined) ?? new Date();
    const from = s ?? new Date(u.getTime() - 86400_000);
    return {
      since: from.toISOString(),
      until: until ? u.toISOString() : undefined,
      seconds: Math.max(60, (u.getTime() - from.getTime()) / 1000),
    };
  }
  const preset = RANGE_PRESETS.find((p) => p.id === range) ?? RANGE_PRESETS[3];
  const minutes = Math.round(preset.hours * 60);
  // Relative times let the server evaluate "now", so a live view never drifts.
  return { since: minutes < 60 ? `-${minutes}m` : `-${minutes / 60}h`, seconds: minutes * 60 };
}

/** "2026-11-25T06:31" for <input type="datetime-local"> in local time. */
export function toLocalInput(iso: string | null | undefined): string {
  const d = parseTime(iso ?? undefined);
  if (!d) return "";
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
