// Filter controls whose state lives in the URL.
import { useEffect, useRef, useState } from "preact/hooks";
import { apiGet } from "../lib/api";
import { RANGE_PRESETS, toLocalInput } from "../lib/format";
import { setQuery } from "../lib/router";
import type { Values } from "../lib/types";

/** Range presets plus a custom from/to; writes range/since/until to the URL. */
export function RangePicker({ query }: { query: URLSearchParams }) {
  const range = query.get("range") ?? "24h";
  return (
    <div class="range-picker">
      <label>
        <span>Time</span>
        <select
          aria-label="Time range"
          value={range}
          onChange={(e) => {
            const v = (e.target as HTMLSelectElement).value;
            if (v === "custom") {
              const now = new Date();
              const preset = RANGE_PRESETS.find((p) => p.id === range) ?? RANGE_PRESETS[3];
              setQuery({ range: "custom", since: new Date(now.getTime() - preset.hours * 3600_000).toISOString(), until: now.toISOString() });
            } else setQuery({ range: v, since: null, until: null });
          }}
        >
          {RANGE_PRESETS.map((p) => (
            <option key={p.id} value={p.id}>
              {p.label}
            </option>
          ))}
          <option value="custom">Custom…</option>
        </select>
      </label>
      {range === "custom" ? (
        <>
          <label>
            <span>From</span>
            <input
              type="datetime-local"
              aria-label="From"
              value={toLocalInput(query.get("since"))}
              onChange={(e) => {
                const v = (e.target as HTMLInputElement).value;
                if (v) setQuery({ since: new Date(v).toISOString() });
              }}
            />
          </label>
          <label>
            <span>To</span>
            <input
              type="datetime-local"
              aria-label="To"
              value={toLocalInput(query.get("until"))}
              onChange={(e) => {
                const v = (e.target as HTMLInputElement).value;
                setQuery({ until: v ? new Date(v).toISOString() : null });
              }}
            />
          </label>
        </>
      ) : null}
    </div>
  );
}

interface TextFilterProps {
  param: string;
  label: string;
  query: URLSearchParams;
  /** Field of /api/values/{field} offering suggestions, fetched on first focus. */
  valuesField?: string;
  project?: string;
  placeholder?: string;
  width?: string;
}

/** A text filter applied on Enter, on blur, or after a short pause in typing. */
export function TextFilter({ param, label, query, valuesField, project, placeholder, width }: TextFilterProps) {
  const current = query.get(param) ?? "";
  const [value, setValue] = useState(current);
  const [options, setOptions] = useState<string[]>([]);
  const fetched = useRef<string | null>(null);
  const timer = useRef<number | undefined>(undefined);
  useEffect(() => setValue(current), [current]);
  const commit = (v: string) => {
    window.clearTimeout(timer.current);
    if (v.trim() !== current) setQuery({ [param]: v.trim() || null });
  };
  const loadOptions = () => {
    if (!valuesField || fetched.current === project) return;
    fetched.current = project ?? "";
    apiGet<Values>(`/api/values/${valuesField}`, { project }).then(
      (r) => setOptions(r.values.map((x) => x.value).filter(Boolean)),
      () => setOptions([]),
    );
  };
  const listId = valuesField ? `values-${param}` : undefined;
  return (
    <label class="text-filter">
      <span>{label}</span>
      <input
        type="search"
        name={param}
        aria-label={label}
        value={value}
        placeholder={placeholder ?? "any"}
        list={listId}
        style={width ? { width } : undefined}
        onFocus={loadOptions}
        onInput={(e) => {
          const v = (e.target as HTMLInputElement).value;
          setValue(v);
          window.clearTimeout(timer.current);
          timer.current = window.setTimeout(() => commit(v), 600);
        }}
        onKeyDown={(e) => {
          if (e.key === "Enter") commit((e.target as HTMLInputElement).value);
        }}
        onBlur={(e) => commit((e.target as HTMLInputElement).value)}
      />
      {listId ? (
        <datalist id={listId}>
          {options.slice(0, 200).map((o) => (
            <option key={o} value={o} />
          ))}
        </datalist>
      ) : null}
    </label>
  );
}

export function SelectFilter({ param, label, query, options }: { param: string; label: string; query: URLSearchParams; options: string[] }) {
  return (
    <label class="select-filter">
      <span>{label}</span>
      <select aria-label={label} name={param} value={query.get(param) ?? ""} onChange={(e) => setQuery({ [param]: (e.target as HTMLSelectElement).value || null })}>
        <option value="">any</option>
        {options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    </label>
  );
}
