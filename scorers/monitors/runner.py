"""The monitor runner: walks new spans through the collector's API, scores a sample, posts feedback.

A poller pages through ``GET /api/spans`` (ascending, in arrival order, resuming from its
cursor) and hands sampled spans to a bounded queue; workers score them and ``POST
/api/feedback`` a batch at a time (one request, one log line per batch), each score with a
deterministic id so that re-scoring a span never stores a second row.

Backpressure: spans are durable in the store, so when the queue is full the poller simply
reads no further (ingest never waits on the monitors: they are one more reader). When
scoring falls behind (the spans read arrived more than ``max_lag_s`` ago) the poller sheds the
backlog by sampling: it keeps ``max_lag_s / lag`` of it (deterministic per span) and counts
the rest in ``stats["dropped_backlog"]``, so a monitor catches up instead of lagging forever.

Judge budget: a monitor's ``judge_budget_usd_per_day`` caps what its LLM-judge calls cost per
UTC day (from the usage each judge reply carries, priced like the traced span's cost by
:func:`common.pricing.cost_usd`). Once reached, judge scorers are skipped for the rest of
the day (``stats["judge_skipped_budget"]``); rule and metric scorers keep running.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import queue
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec

from common.endpoint import resolve_endpoint
from common.pricing import cost_usd
from common.timetext import parse_when, relative_seconds, rfc3339
from common.wire.feedback import FeedbackBatchResult, FeedbackIn, feedback_id
from common.wire.traces import SpanList
from scorers.base import Score, Scorer
from scorers.monitors.config import Monitor, MonitorsConfig

log = logging.getLogger("spyglass.monitors")

DEFAULT_ENDPOINT = "http://127.0.0.1:4318"


class MonitorError(Exception):
    """The runner cannot reach or use the collector."""


def sampled(span_id: str, rate: float) -> bool:
    """Deterministic per-span sampling: the same span is always in or out of the sample."""
    if rate >= 1.0:
        return True
    if rate <= 0.0:
        return False
    h = int.from_bytes(hashlib.blake2b(span_id.encode(), digest_size=8).digest(), "big")
    return h / 2**64 < rate


def _kept_from_backlog(span_id: str, keep: float) -> bool:
    """Deterministic backlog sampling, independent of the monitor's own sample (other salt)."""
    h = int.from_bytes(hashlib.blake2b(span_id.encode(), digest_size=8, person=b"backlog").digest(), "big")
    return h / 2**64 < keep


def judge_cost_usd(score: Score) -> float | None:
    """What the judge call behind ``score`` cost: 0 for a cached reply, None when the reply
    carried no usage or its model is not in the price table."""
    meta = score.metadata or {}
    if meta.get("cached"):
        return 0.0
    usage = meta.get("usage")
    model = meta.get("model")
    if not isinstance(usage, Mapping) or not isinstance(model, str):
        return None
    details = usage.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, Mapping) else 0
    try:
        return cost_usd(model, int(usage.get("prompt_tokens") or 0),
                        int(usage.get("completion_tokens") or 0), int(cached or 0))
    except (TypeError, ValueError):
        return None


def _arrival_seconds(span: Mapping[str, Any]) -> float | None:
    """When the span reached the collector (``ingested_at``; its end for older bodies)."""
    text = span.get("ingested_at") or span.get("end_time") or span.get("start_time")
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def span_value(span: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path in a span (``output.choices.0.message.content``)."""
    value: Any = span
    for part in path.split("."):
        if isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(value, list) and part.lstrip("-").isdigit():
            idx = int(part)
            value = value[idx] if -len(value) <= idx < len(value) else None
        else:
            return None
        if value is None:
            return None
    return value


def as_text(value: Any) -> Any:
    """Text of a span input/output: strings as-is, chat messages/responses by their content."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        if isinstance(value.get("content"), str):
            return value["content"]
        choices = value.get("choices")
        if isinstance(choices, list) and choices:
            return as_text(choices[0].get("message") if isinstance(choices[0], Mapping) else None)
        if len(value) == 1:
            only = next(iter(value.values()))
            if isinstance(only, str):
                return only
    if isinstance(value, list) and value and all(isinstance(m, Mapping) and "content" in m for m in value):
        return as_text(value[-1])
    return json.dumps(value, ensure_ascii=False, default=str)


def _absolute_start(start: str) -> str | None:
    """The fixed ``since`` for a walk: None (beginning), now, or now minus a relative window.

    Fixed once, because the walk must keep the same filters from page to page; a relative
    ``since`` re-evaluated at each poll would hide spans that arrive late.
    """
    start = start.strip()
    if start == "beginning":
        return None
    try:
        # Relative windows go back from now ("-1h"): a bare duration ("1h") is not a start.
        if relative_seconds(start) is not None and not start.startswith("-"):
            raise ValueError(start)
        return rfc3339(parse_when(start, datetime.now(UTC)))
    except ValueError:
        raise MonitorError(f"start must be now, beginning, a relative window like -1h or an "
                           f"RFC 3339 time, got {start!r}") from None


@dataclass
class _Walk:
    """Where one monitor is in the span stream."""

    cursor: str | None = None
    since: str | None = None


STAT_KEYS = ("fetched", "sampled", "enqueued", "dropped_backlog", "scored", "posted", "duplicates",
             "errors", "judge_calls", "judge_skipped_budget")
"""The runner's counters: spans read, sampled, queued, shed from a backlog; scores computed,
posted, already stored, failed; judge calls made, judge scores skipped over budget."""


class MonitorRunner:
    """Runs every monitor in a :class:`MonitorsConfig` against one collector."""

    def __init__(self, config: MonitorsConfig, endpoint: str | None = None,
                 api_key: str | None = None, client: httpx.Client | None = None) -> None:
        self.config = config
        # Argument, config, SPYGLASS_ENDPOINT, the running `spyglass serve`, the default.
        self.endpoint = resolve_endpoint(endpoint or config.endpoint)
        headers = {"Authorization": f"Bearer {api_key or config.api_key}"} if (api_key or config.api_key) else {}
        self._client = client or httpx.Client(base_url=self.endpoint, timeout=30.0, headers=headers)
        self._queue: queue.Queue[tuple[Monitor, dict[str, Any]]] = queue.Queue(maxsize=config.queue_size)
        self._stats_lock = threading.Lock()
        self.stats: dict[str, int] = {k: 0 for k in STAT_KEYS}
        self._walks = {m.name: _Walk() for m in config.monitors}
        # Judge spend per monitor name: (UTC day, USD). Seeded by the collector's worker
        # from the stored status so a restart does not reset the day's budget.
        self.judge_spend: dict[str, tuple[date, float]] = {}
        self.last_run: str | None = None
        self.last_error: str | None = None
        self.last_error_at: str | None = None
        self._inline = False
        self._stop = threading.Event()
        self._stop_poll = threading.Event()
        self._threads: list[threading.Thread] = []
        self._busy = 0
        self._last_drop_log = 0.0
        self._load_state()

    # -- state ----------------------------------------------------------------------------

    def _state_path(self) -> Path | None:
        return Path(self.config.state_file).expanduser() if self.config.state_file else None

    def _load_state(self) -> None:
        path = self._state_path()
        since = _absolute_start(self.config.start)
        saved: dict[str, Any] = {}
        if path is not None and path.exists():
            try:
                saved = json.loads(path.read_text())
            except (OSError, ValueError) as exc:
                raise MonitorError(f"monitor state file {path} is unreadable: {exc}") from exc
        for name, walk in self._walks.items():
            entry = saved.get(name) or {}
            walk.cursor = entry.get("cursor")
            walk.since = entry.get("since", since) if entry else since

    def _save_state(self) -> None:
        path = self._state_path()
        if path is None:
            return
        data = {n: {"cursor": w.cursor, "since": w.since} for n, w in self._walks.items()}
        tmp = path.with_suffix(path.suffix + ".tmp")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(data, indent=2))
        tmp.replace(path)

    def _error(self, message: str) -> None:
        """Remember the latest problem for the monitor's status (the log has each)."""
        self.last_error, self.last_error_at = message[:500], rfc3339(datetime.now(UTC))

    def _count(self, key: str, n: int = 1) -> None:
        with self._stats_lock:
            self.stats[key] += n

    # -- reading --------------------------------------------------------------------------

    def _fetch_page(self, monitor: Monitor, walk: _Walk) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"project": monitor.project, "order": "asc", "sort": "ingested",
                                  "limit": self.config.page_size, **monitor.filter}
        if walk.since:
            params["since"] = walk.since
        if walk.cursor:
            params["cursor"] = walk.cursor
        try:
            resp = self._client.get("/api/spans", params=params)
        except httpx.HTTPError as exc:
            raise MonitorError(f"collector at {self.endpoint} unreachable: {exc}") from exc
        if resp.status_code != 200:
            raise MonitorError(f"GET /api/spans for monitor {monitor.name!r} answered "
                               f"HTTP {resp.status_code}: {_error_text(resp)}")
        try:
            page = msgspec.json.decode(resp.content, type=SpanList)
        except msgspec.DecodeError as exc:
            raise MonitorError(f"GET /api/spans for monitor {monitor.name!r} answered an "
                               f"unexpected body: {exc}") from exc
        if page.next_cursor:
            walk.cursor = page.next_cursor
        # Scorers read spans as mappings of their fields (input, output, attributes...).
        return [msgspec.structs.asdict(span) for span in page.spans]

    def poll_once(self) -> int:
        """Read every new span of every monitor (all pages), enqueue the sample; spans read."""
        total = 0
        for monitor in self.config.monitors:
            walk = self._walks[monitor.name]
            while True:
                spans = self._fetch_page(monitor, walk)
                total += len(spans)
                self._count("fetched", len(spans))
                now = time.time()
                for span in spans:
                    if sampled(span["span_id"], monitor.sample_rate):
                        self._count("sampled")
                        self._offer(monitor, span, now)
                self._save_state()
                if len(spans) < self.config.page_size:
                    break
        self.last_run = rfc3339(datetime.now(UTC))
        return total

    def _behind(self, monitor: Monitor, span: Mapping[str, Any], now: float) -> bool:
        """Whether ``span`` is shed from a backlog: it arrived more than ``max_lag_s`` ago
        (scoring is that far behind) and is not in the ``max_lag_s / lag`` part kept."""
        arrived = _arrival_seconds(span)
        max_lag = self.config.max_lag_s
        if arrived is None or max_lag is None or now - arrived <= max_lag:
            return False
        return not _kept_from_backlog(span["span_id"], max_lag / (now - arrived))

    def _offer(self, monitor: Monitor, span: dict[str, Any], now: float) -> None:
        if self._behind(monitor, span, now):
            self._dropped(monitor, span, "scoring is behind")
            return
        while True:
            try:
                self._queue.put_nowait((monitor, span))
                self._count("enqueued")
                return
            except queue.Full:
                pass
            if self._inline:
                # run_once scores in this thread: make room by scoring what is queued.
                self.process_pending()
                continue
            if self._stop_poll.is_set():
                self._dropped(monitor, span, "stopping with a full queue")
                return
            # The queue is full: read no further until workers make room. Spans wait in the
            # store, not in memory; ingest never waits on this.
            self._stop_poll.wait(0.02)

    def _dropped(self, monitor: Monitor, span: Mapping[str, Any], why: str) -> None:
        self._count("dropped_backlog")
        now = time.monotonic()
        # One line per few seconds: enough to see it, not a flood when far behind.
        if now - self._last_drop_log > 5.0:
            self._last_drop_log = now
            log.warning("monitors: %s; dropped span %s of monitor %r (%d dropped so far)",
                        why, span["span_id"], monitor.name, self.stats["dropped_backlog"])

    # -- scoring --------------------------------------------------------------------------

    def fields_of(self, monitor: Monitor, span: Mapping[str, Any]) -> dict[str, Any]:
        """The scorer fields of ``span`` per the monitor's field map."""
        out: dict[str, Any] = {}
        for target, path in monitor.fields.items():
            value = span_value(span, path)
            out[target] = as_text(value) if target in ("input", "output") else value
        return out

    def score_span(self, monitor: Monitor, span: Mapping[str, Any]) -> list[Score]:
        """Run the monitor's scorers on one span and post its scores (one request)."""
        outbox: list[FeedbackIn] = []
        scores = self._score_into(monitor, span, outbox)
        self._post_batch(outbox)
        return scores

    def _score_into(self, monitor: Monitor, span: Mapping[str, Any], outbox: list[FeedbackIn]) -> list[Score]:
        """Score one span and append its feedback bodies to ``outbox`` (posted by the caller)."""
        from scorers.judges.judge import LLMJudge

        fields = self.fields_of(monitor, span)
        scores = []
        for scorer in monitor.scorers:
            is_judge = isinstance(scorer, LLMJudge)
            if is_judge and self.over_budget(monitor):
                self._count("judge_skipped_budget")
                continue
            try:
                score = scorer.score(fields)
            except Exception as exc:
                self._count("errors")
                self._error(f"scorer {scorer.name!r} failed: {exc}")
                log.warning("monitors: %r scorer %r failed on span %s: %s",
                            monitor.name, scorer.name, span.get("span_id"), exc)
                continue
            if is_judge:
                self._spend(monitor, score)
            self._count("scored")
            scores.append(score)
            body = self._body(monitor, scorer, span, score)
            if body is not None:
                outbox.append(body)
        return scores

    def spent_today(self, monitor: Monitor) -> float:
        """USD the monitor's judge calls cost so far this UTC day."""
        with self._stats_lock:
            day, usd = self.judge_spend.get(monitor.name, (None, 0.0))
        return usd if day == datetime.now(UTC).date() else 0.0

    def over_budget(self, monitor: Monitor) -> bool:
        """Whether the monitor's judges have used up today's budget (then they are skipped;
        with several workers a call already under way may overshoot it by its own cost)."""
        budget = monitor.judge_budget_usd_per_day
        return budget is not None and self.spent_today(monitor) >= budget

    def _spend(self, monitor: Monitor, score: Score) -> None:
        cost = judge_cost_usd(score)
        today = datetime.now(UTC).date()
        with self._stats_lock:
            self.stats["judge_calls"] += 0 if (score.metadata or {}).get("cached") else 1
            day, usd = self.judge_spend.get(monitor.name, (today, 0.0))
            if day != today:
                usd = 0.0
            self.judge_spend[monitor.name] = (today, usd + (cost or 0.0))
        if cost is None and monitor.judge_budget_usd_per_day is not None:
            log.warning("monitors: %r judge %r: no price for model %r; the budget cannot count "
                        "this call", monitor.name, score.name, (score.metadata or {}).get("model"))

    def _body(self, monitor: Monitor, scorer: Scorer, span: Mapping[str, Any], score: Score) -> FeedbackIn | None:
        from scorers.judges.judge import LLMJudge

        if isinstance(score.value, float) and not math.isfinite(score.value):
            self._count("errors")
            log.warning("monitors: %r scorer %r gave %s on span %s; not stored",
                        monitor.name, score.name, score.value, span.get("span_id"))
            return None

        meta: dict[str, Any] = {"monitor": monitor.name, "passed": score.passed}
        try:
            encoded = json.dumps(score.metadata, default=str)
            if len(encoded) <= 20_000:
                meta["score"] = json.loads(encoded)
        except (TypeError, ValueError):
            pass
        return FeedbackIn(
            # The same (project, monitor, span, score) always has the same id, and the
            # collector stores an id once: restarts, retries and a lost state file re-post
            # without adding rows.
            id=feedback_id(monitor.project, monitor.name, span["span_id"], score.name),
            trace_id=span["trace_id"], span_id=span["span_id"], project=span.get("project"),
            name=score.name, value=score.value,
            source="judge" if isinstance(scorer, LLMJudge) else "scorer",
            author=f"monitor:{monitor.name}", comment=score.reason or "", metadata=meta,
        )

    def _post_batch(self, outbox: list[FeedbackIn]) -> None:
        """Post scores in requests of at most ``batch_size`` items; one log line per batch."""
        size = self.config.batch_size
        for start in range(0, len(outbox), size):
            self._post_chunk(outbox[start:start + size])

    def _post_chunk(self, chunk: list[FeedbackIn]) -> None:
        if not chunk:
            return
        body = msgspec.json.encode(chunk)
        err = ""
        for attempt in range(3):
            try:
                resp = self._client.post("/api/feedback", content=body,
                                         headers={"Content-Type": "application/json"})
            except httpx.HTTPError as exc:
                err = str(exc)
            else:
                if resp.status_code in (200, 201):
                    try:
                        result = msgspec.json.decode(resp.content, type=FeedbackBatchResult)
                    except msgspec.DecodeError:
                        result = FeedbackBatchResult(stored=len(chunk), duplicates=0, ids=[])
                    self._count("posted", len(chunk))
                    self._count("duplicates", result.duplicates)
                    log.info("monitors: posted %d score(s): %d new, %d already stored",
                             len(chunk), result.stored, result.duplicates)
                    return
                err = f"HTTP {resp.status_code}: {_error_text(resp)}"
                if resp.status_code < 500 and resp.status_code != 429:
                    break
            time.sleep(0.2 * (2 ** attempt))
        self._count("errors", len(chunk))
        self._error(f"{len(chunk)} score(s) not stored: {err}")
        log.warning("monitors: %d score(s) not stored: %s", len(chunk), err)

    def _take(self, first: tuple[Monitor, dict[str, Any]] | None) -> list[tuple[Monitor, dict[str, Any]]]:
        """``first`` plus whatever is queued, up to ``batch_size`` spans."""
        taken = [first] if first is not None else []
        while len(taken) < self.config.batch_size:
            try:
                taken.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return taken

    def _score_batch(self, taken: list[tuple[Monitor, dict[str, Any]]]) -> None:
        outbox: list[FeedbackIn] = []
        try:
            for monitor, span in taken:
                try:
                    self._score_into(monitor, span, outbox)
                except Exception:
                    self._count("errors")
                    log.exception("monitors: scoring span %s failed", span.get("span_id"))
            self._post_batch(outbox)
        finally:
            for _ in taken:
                self._queue.task_done()

    def process_pending(self) -> int:
        """Score everything queued, in this thread, posting a batch at a time; spans scored."""
        n = 0
        while True:
            taken = self._take(None)
            if not taken:
                return n
            self._score_batch(taken)
            n += len(taken)

    # -- running --------------------------------------------------------------------------

    def run_once(self) -> dict[str, int]:
        """Catch up: read every new span, score the sample, post feedback; the stats."""
        self._inline = True
        try:
            while True:
                self.poll_once()
                if self.process_pending() == 0 and self._queue.empty():
                    break
        finally:
            self._inline = False
        return dict(self.stats)

    def _worker(self) -> None:
        while not self._stop.is_set():
            try:
                first = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            self._score_batch(self._take(first))

    def _poller(self) -> None:
        last_error, last_error_at, last_stats_at = "", 0.0, time.monotonic()
        while not self._stop_poll.is_set():
            try:
                self.poll_once()
                if last_error:
                    log.info("monitors: collector reachable again")
                    last_error = ""
            except MonitorError as exc:
                self._error(str(exc))
                # A collector that is down fails every poll: say so when the problem
                # changes and then once a minute, not every few seconds.
                now = time.monotonic()
                if str(exc) != last_error or now - last_error_at > 60:
                    log.warning("monitors: %s", exc)
                    last_error, last_error_at = str(exc), now
            now = time.monotonic()
            if now - last_stats_at >= 60:
                last_stats_at = now
                log.info("monitors: %s", " ".join(f"{k}={v}" for k, v in self.stats.items()))
            self._stop_poll.wait(self.config.poll_interval_s)

    def start(self) -> None:
        """Start the poller and the scoring workers in background threads."""
        if self._threads:
            return
        self._stop.clear()
        self._stop_poll.clear()
        self._threads = [threading.Thread(target=self._poller, name="spyglass-monitor-poll", daemon=True)]
        self._threads += [threading.Thread(target=self._worker, name=f"spyglass-monitor-{i}", daemon=True)
                          for i in range(self.config.workers)]
        for t in self._threads:
            t.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop reading, let workers finish the queue for up to ``timeout_s``, then stop them."""
        deadline = time.monotonic() + timeout_s
        self._stop_poll.set()
        while not self._queue.empty() and time.monotonic() < deadline:
            time.sleep(0.05)
        self._stop.set()
        for t in self._threads:
            t.join(timeout=max(0.1, deadline - time.monotonic()))
        self._threads = []
        self._save_state()

    def close(self) -> None:
        """Stop and close the HTTP client."""
        self.stop()
        self._client.close()


def _error_text(resp: httpx.Response) -> str:
    try:
        body = resp.json()
        if isinstance(body, dict) and "error" in body:
            return str(body["error"])
    except ValueError:
        pass
    return resp.text[:200]
