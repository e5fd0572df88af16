"""Online monitors: score sampled production spans and store the scores as feedback."""

from scorers.monitors.config import (
    Monitor,
    MonitorConfigError,
    MonitorsConfig,
    build_scorer,
    load_config,
    parse_config,
)
from scorers.monitors.runner import MonitorError, MonitorRunner, as_text, sampled, span_value

__all__ = [
    "Monitor", "MonitorConfigError", "MonitorError", "MonitorRunner", "MonitorsConfig",
    "as_text", "build_scorer", "load_config", "parse_config", "sampled", "span_value",
]
