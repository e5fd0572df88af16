"""Spyglass's own attributes (``common/attributes.py``, written by ``@op``)."""

from __future__ import annotations

from collector.ingest.record import Mapped
from collector.ingest.values import as_float, as_int, as_str_list, json_value, to_json_text
from common import attributes as A


def apply(m: Mapped) -> None:
    """Fill ``m`` from ``spyglass.*`` attributes."""
    kind = m.take(A.OP_KIND)
    if kind and not m.kind:
        m.kind = str(kind).lower()
    name = m.take(A.OP_NAME)
    if name and not m.name:
        m.name = str(name)
    value = m.take(A.INPUTS)
    if value is not None and not m.input:
        m.input = to_json_text(value)
    value = m.take(A.OUTPUT)
    if value is not None and not m.output:
        m.output = to_json_text(value)
    cost = as_float(m.take(A.COST_USD))
    if cost is not None and m.cost_usd is None:
        m.cost_usd = cost
    for key, attr in (("cached_tokens", A.USAGE_CACHED_TOKENS), ("total_tokens", A.USAGE_TOTAL_TOKENS)):
        value = m.take(attr)
        if value is not None and getattr(m, key) is None:
            setattr(m, key, as_int(value))
    value = m.take(A.USER_ID)
    if value and not m.user_id:
        m.user_id = str(value)
    value = m.take(A.SESSION_ID)
    if value and not m.session_id:
        m.session_id = str(value)
    tags = m.take(A.TAGS)
    if tags is not None:
        m.tags.extend(t for t in as_str_list(tags) if t not in m.tags)
    metadata = json_value(m.take(A.METADATA))
    if isinstance(metadata, dict):
        for k, v in metadata.items():
            m.metadata.setdefault(k, v)
