"""One module per attribute convention; each exposes ``apply(m: Mapped) -> None``.

``CONVENTIONS`` is the order they run in: the first that sets a field wins.
"""

from __future__ import annotations

from collector.ingest.conventions import genai, openinference, openllmetry, spyglass

CONVENTIONS = (spyglass, genai, openinference, openllmetry)
