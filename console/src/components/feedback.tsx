// Feedback on a span: the scores, labels and comments already attached, and a form to
// add one (stored through POST /api/feedback).
import { useState } from "preact/hooks";
import { ErrorBanner, Section } from "./common";
import { apiPost, useApi, type ApiError } from "../lib/api";
import { fmtTime } from "../lib/format";
import type { Feedback, FeedbackIn, FeedbackList } from "../lib/types";

function fmtValue(v: unknown): string {
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : v.toFixed(3);
  if (typeof v === "boolean") return v ? "true" : "false";
  if (v === null || v === undefined) return "";
  return typeof v === "string" ? v : JSON.stringify(v);
}

/** "0.8" -> 0.8, "true" -> true, anything else stays a label. */
function parseValue(s: string): number | boolean | string {
  const t = s.trim();
  if (t === "true" || t === "false") return t === "true";
  if (t !== "" && !Number.isNaN(Number(t))) return Number(t);
  return t;
}

export function FeedbackPanel({ traceId, spanId, project }: { traceId: string; spanId: string; project: string }) {
  const list = useApi<FeedbackList>("/api/feedback", { trace_id: traceId, project: project || undefined });
  const [name, setName] = useState("quality");
  const [value, setValue] = useState("");
  const [comment, setComment] = useState("");
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<ApiError | Error | null>(null);
  const [saved, setSaved] = useState(false);
  const mine = (list.data?.feedback ?? []).filter((f) => !f.span_id || f.span_id === spanId);

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setSaved(false);
    if (!name.trim()) return setError(new Error("Give the feedback a name (for example: quality)."));
    if (!value.trim() && !comment.trim()) return setError(new Error("Enter a score or label, or a comment."));
    setSaving(true);
    try {
      // A comment alone is stored with an empty label: the API requires a value.
      const body: FeedbackIn = {
        trace_id: traceId,
        span_id: spanId,
        name: name.trim(),
        value: parseValue(value),
        source: "human",
        author: "console",
        project: project || null,
        comment: comment.trim() || null,
      };
      await apiPost<Feedback>("/api/feedback", body);
      setValue("");
      setComment("");
      setSaved(true);
      list.reload();
    } catch (err) {
      setError(err as Error);
    } finally {
      setSaving(false);
    }
  };

  return (
    <Section title={`Feedback (${mine.length})`}>
      <ErrorBanner error={list.error} what="feedback" />
      {mine.length ? (
        <table class="table compact feedback-list">
          <thead>
            <tr><th>Name</th><th>Value</th><th>Source</th><th>Comment</th><th>When</th></tr>
          </thead>
          <tbody>
            {mine.map((f) => (
              <tr key={f.id}>
                <td>{f.name}</td>
                <td class="num">{fmtValue(f.value)}</td>
                <td>{f.source}{f.author ? <span class="muted"> · {f.author}</span> : null}</td>
                <td>{f.comment}</td>
                <td class="nowrap muted">{fmtTime(f.created_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p class="muted">No feedback on this span yet.</p>
      )}
      <form class="feedback-form" onSubmit={submit} aria-label="Add feedback">
        <label>
          <span>Name</span>
          <input name="fb-name" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          <span>Score or label</span>
          <input name="fb-value" value={value} placeholder="0.9, true, good…" onInput={(e) => setValue((e.target as HTMLInputElement).value)} />
        </label>
        <label class="grow">
          <span>Comment</span>
          <input name="fb-comment" value={comment} placeholder="optional" onInput={(e) => setComment((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit" class="btn btn-primary" disabled={saving}>
          {saving ? "Saving…" : "Add feedback"}
        </button>
      </form>
      {saved ? <p class="ok-text" role="status">Feedback saved.</p> : null}
      <ErrorBanner error={error} what="the feedback" />
    </Section>
  );
}
