"""Tracer settings: arguments > ``SPYGLASS_*`` environment > standard ``OTEL_*`` > defaults."""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from common.endpoint import discovered_endpoint

DEFAULT_ENDPOINT = "http://127.0.0.1:4318"
DEFAULT_PROJECT = "default"
DEFAULT_FLUSH_TIMEOUT_S = 5.0
DEFAULT_MAX_VALUE_CHARS = 16_000
TRACES_PATH = "/v1/traces"


@dataclass(frozen=True)
class Settings:
    """Resolved configuration of one ``tracer.init`` call."""

    project: str
    endpoint: str  # base URL of the collector, without /v1/traces
    traces_url: str  # where spans are POSTed
    api_key: str | None
    sample_rate: float
    service_name: str | None
    flush_timeout_s: float
    max_value_chars: int
    redact: bool
    redact_keys: frozenset[str] = field(default_factory=frozenset)
    enabled: bool = True

    @property
    def feedback_url(self) -> str:
        """The collector route feedback is posted to."""
        return self.endpoint + "/api/feedback"

    def headers(self) -> dict[str, str]:
        """HTTP headers every request to the collector carries."""
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}


def _env(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    if value is None or not value.strip():
        return None
    return value.strip()


def _first(*values: object) -> object:
    for value in values:
        if value is not None:
            return value
    return None


def _float(value: object, source: str) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{source} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{source} must be a finite number, got {value!r}")
    return number


def _bool(value: object, source: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{source} must be true or false, got {value!r}")


def _base_url(url: str, source: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{source} must be an http(s) URL like {DEFAULT_ENDPOINT}, got {url!r}")
    base = url.rstrip("/")
    return base.removesuffix(TRACES_PATH).rstrip("/")


def _endpoint(arg: str | None, env: Mapping[str, str]) -> tuple[str, str]:
    """(collector base URL, traces URL) by precedence."""
    if arg is not None:
        base = _base_url(arg, "endpoint")
        return base, base + TRACES_PATH
    if value := _env(env, "SPYGLASS_ENDPOINT"):
        base = _base_url(value, "SPYGLASS_ENDPOINT")
        return base, base + TRACES_PATH
    # The signal-specific OTel variable is a full URL and is used as given.
    if value := _env(env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        base = _base_url(value, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        return base, value
    if value := _env(env, "OTEL_EXPORTER_OTLP_ENDPOINT"):
        base = _base_url(value, "OTEL_EXPORTER_OTLP_ENDPOINT")
        return base, base + TRACES_PATH
    # The `spyglass serve` running on this machine, wherever it listens.
    if value := discovered_endpoint(env):
        return value, value + TRACES_PATH
    return DEFAULT_ENDPOINT, DEFAULT_ENDPOINT + TRACES_PATH


def _sample_rate(arg: float | None, env: Mapping[str, str]) -> float:
    if arg is not None:
        rate, source = _float(arg, "sample_rate"), "sample_rate"
    elif (value := _env(env, "SPYGLASS_SAMPLE_RATE")) is not None:
        rate, source = _float(value, "SPYGLASS_SAMPLE_RATE"), "SPYGLASS_SAMPLE_RATE"
    elif (sampler := (_env(env, "OTEL_TRACES_SAMPLER") or "").lower()) in (
            "traceidratio", "parentbased_traceidratio") and _env(env, "OTEL_TRACES_SAMPLER_ARG"):
        source = "OTEL_TRACES_SAMPLER_ARG"
        rate = _float(_env(env, source), source)
    elif sampler in ("always_off", "parentbased_always_off"):
        return 0.0
    else:
        return 1.0
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"{source} must be between 0 and 1, got {rate!r}")
    return rate


def resolve(
    project: str | None = None,
    endpoint: str | None = None,
    api_key: str | None = None,
    sample_rate: float | None = None,
    service_name: str | None = None,
    flush_timeout_s: float | None = None,
    max_value_chars: int | None = None,
    redact: bool | None = None,
    redact_keys: Iterable[str] | None = None,
    enabled: bool | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Settings from arguments, then ``SPYGLASS_*``, then ``OTEL_*``, then defaults.

    Raises ``ValueError`` naming the argument or variable that holds a bad value.
    """
    env = os.environ if env is None else env
    project_value = _first(project, _env(env, "SPYGLASS_PROJECT"), DEFAULT_PROJECT)
    if not isinstance(project_value, str) or not project_value.strip():
        raise ValueError(f"project must be a non-empty string, got {project_value!r}")
    base, traces_url = _endpoint(endpoint, env)
    key = _first(api_key, _env(env, "SPYGLASS_API_KEY"))
    if key is not None and (not isinstance(key, str) or not key.strip()):
        raise ValueError("api_key must be a non-empty string")
    timeout_source = "flush_timeout_s" if flush_timeout_s is not None else "SPYGLASS_FLUSH_TIMEOUT"
    timeout = _float(_first(flush_timeout_s, _env(env, "SPYGLASS_FLUSH_TIMEOUT"),
                            DEFAULT_FLUSH_TIMEOUT_S), timeout_source)
    if timeout < 0:
        raise ValueError(f"{timeout_source} must be >= 0 seconds, got {timeout!r}")
    chars_source = "max_value_chars" if max_value_chars is not None else "SPYGLASS_MAX_VALUE_CHARS"
    chars_raw = _first(max_value_chars, _env(env, "SPYGLASS_MAX_VALUE_CHARS"),
                       DEFAULT_MAX_VALUE_CHARS)
    try:
        chars = int(chars_raw)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise ValueError(f"{chars_source} must be an integer, got {chars_raw!r}") from None
    if chars < 64:
        raise ValueError(f"{chars_source} must be at least 64, got {chars}")
    redact_value = _bool(_first(redact, _env(env, "SPYGLASS_REDACT"), True),
                         "redact" if redact is not None else "SPYGLASS_REDACT")
    extra_keys: Iterable[str] = redact_keys if redact_keys is not None else (
        (_env(env, "SPYGLASS_REDACT_KEYS") or "").split(","))
    if isinstance(extra_keys, str):
        raise ValueError("redact_keys must be a list of key names, not a string")
    keys = frozenset(k.strip().lower().replace("-", "_") for k in extra_keys if k and k.strip())
    # OTEL_SDK_DISABLED keeps its standard meaning: no telemetry at all.
    enabled_value = _bool(_first(enabled, _env(env, "SPYGLASS_ENABLED"),
                                 not _bool(_env(env, "OTEL_SDK_DISABLED") or "false",
                                           "OTEL_SDK_DISABLED")),
                          "enabled" if enabled is not None else "SPYGLASS_ENABLED")
    service = _first(service_name, _env(env, "SPYGLASS_SERVICE_NAME"))
    return Settings(
        project=project_value.strip(), endpoint=base, traces_url=traces_url,
        api_key=key.strip() if isinstance(key, str) else None,
        sample_rate=_sample_rate(sample_rate, env), service_name=service,  # type: ignore[arg-type]
        flush_timeout_s=timeout, max_value_chars=chars, redact=redact_value,
        redact_keys=keys, enabled=enabled_value,
    )
