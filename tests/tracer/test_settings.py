"""Settings precedence: arguments > SPYGLASS_* > OTEL_* > defaults; bad values are named."""

from __future__ import annotations

import pytest

import tracer
from common import attributes as A
from tracer.settings import resolve


def test_defaults() -> None:
    s = resolve(env={})
    assert (s.project, s.endpoint, s.traces_url) == (
        "default", "http://127.0.0.1:4318", "http://127.0.0.1:4318/v1/traces")
    assert (s.api_key, s.sample_rate, s.redact, s.enabled) == (None, 1.0, True, True)
    assert s.headers() == {}
    assert s.feedback_url == "http://127.0.0.1:4318/api/feedback"


def test_otel_variables_are_used_when_no_spyglass_ones() -> None:
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4318/",
           "OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.25"}
    s = resolve(env=env)
    assert (s.endpoint, s.traces_url, s.sample_rate) == (
        "http://otel:4318", "http://otel:4318/v1/traces", 0.25)
    # The signal-specific variable is a full URL and wins over the generic one.
    s = resolve(env={**env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://t:9999/custom/traces"})
    assert s.traces_url == "http://t:9999/custom/traces"
    # A sampler argument only means a ratio for the ratio samplers.
    assert resolve(env={"OTEL_TRACES_SAMPLER": "always_on",
                        "OTEL_TRACES_SAMPLER_ARG": "0.1"}).sample_rate == 1.0
    assert resolve(env={"OTEL_SDK_DISABLED": "true"}).enabled is False
    assert resolve(env={"OTEL_TRACES_SAMPLER": "always_off"}).sample_rate == 0.0
    assert resolve(env={"OTEL_TRACES_SAMPLER": "always_off",
                        "SPYGLASS_SAMPLE_RATE": "1"}).sample_rate == 1.0


def test_spyglass_variables_win_over_otel_ones() -> None:
    env = {"SPYGLASS_PROJECT": "shop", "SPYGLASS_ENDPOINT": "https://spy.example/v1/traces",
           "SPYGLASS_API_KEY": "sg_abc", "SPYGLASS_SAMPLE_RATE": "0.5",
           "OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4318",
           "OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.1",
           "SPYGLASS_REDACT_KEYS": "ssn, Card-Number", "SPYGLASS_MAX_VALUE_CHARS": "500",
           "SPYGLASS_FLUSH_TIMEOUT": "2.5"}
    s = resolve(env=env)
    assert (s.project, s.endpoint, s.traces_url) == (
        "shop", "https://spy.example", "https://spy.example/v1/traces")
    assert s.headers() == {"Authorization": "Bearer sg_abc"}
    assert s.sample_rate == 0.5
    assert s.redact_keys == frozenset({"ssn", "card_number"})
    assert (s.max_value_chars, s.flush_timeout_s) == (500, 2.5)


def test_arguments_win_over_everything() -> None:
    env = {"SPYGLASS_PROJECT": "shop", "SPYGLASS_ENDPOINT": "http://env:1",
           "SPYGLASS_API_KEY": "env-key", "SPYGLASS_SAMPLE_RATE": "0.5",
           "SPYGLASS_ENABLED": "false"}
    s = resolve(project="arg", endpoint="http://arg:2", api_key="arg-key", sample_rate=0.0,
                enabled=True, env=env)
    assert (s.project, s.endpoint, s.api_key, s.sample_rate, s.enabled) == (
        "arg", "http://arg:2", "arg-key", 0.0, True)


@pytest.mark.parametrize(("kwargs", "env", "message"), [
    ({"sample_rate": 1.5}, {}, "sample_rate must be between 0 and 1"),
    ({}, {"SPYGLASS_SAMPLE_RATE": "lots"}, "SPYGLASS_SAMPLE_RATE must be a number"),
    ({"endpoint": "localhost:4318"}, {}, "endpoint must be an http"),
    ({}, {"SPYGLASS_ENDPOINT": "ftp://x"}, "SPYGLASS_ENDPOINT must be an http"),
    ({"project": ""}, {}, "project must be a non-empty string"),
    ({"max_value_chars": 10}, {}, "max_value_chars must be at least 64"),
    ({}, {"SPYGLASS_REDACT": "maybe"}, "SPYGLASS_REDACT must be true or false"),
    ({"flush_timeout_s": -1}, {}, "flush_timeout_s must be >= 0"),
    ({"redact_keys": "ssn"}, {}, "redact_keys must be a list"),
])
def test_bad_values_name_the_setting(kwargs: dict, env: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        resolve(env=env, **kwargs)


def test_init_raises_for_bad_config_and_keeps_tracing_off(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    tracer.shutdown()
    with pytest.raises(ValueError, match="sample_rate"):
        tracer.init(sample_rate=2)
    assert tracer.settings() is None


def test_init_reads_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    monkeypatch.setenv("SPYGLASS_PROJECT", "from-env")
    exporter = InMemorySpanExporter()
    try:
        settings = tracer.init(exporter=exporter)
        assert settings.project == "from-env"
        tracer.op(lambda: 1)()
        tracer.flush(5)
        (span,) = exporter.get_finished_spans()
        assert span.resource.attributes[A.PROJECT] == "from-env"
    finally:
        tracer.shutdown()


def test_disabled_by_configuration_means_pass_through(monkeypatch: pytest.MonkeyPatch) -> None:
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    monkeypatch.setenv("SPYGLASS_ENABLED", "0")
    exporter = InMemorySpanExporter()
    settings = tracer.init(exporter=exporter)
    assert settings.enabled is False
    assert tracer.settings() is None
    assert tracer.op(lambda x: x + 1)(1) == 2
    assert exporter.get_finished_spans() == ()
