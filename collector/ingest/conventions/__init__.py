"""Attribute conventions, one module each, compiled into one table (see ``rules.py``).

``CONVENTIONS`` is the order they rank in: for every field the first convention that
names a value wins.
"""

from __future__ import annotations

from collector.ingest.conventions import genai, openinference, openllmetry, spyglass
from collector.ingest.conventions.rules import RANK_STEP, compile_table

CONVENTIONS = (spyglass, genai, openinference, openllmetry)
TABLE = compile_table(CONVENTIONS)
# The rank below which a kind was known before OpenLLMetry (openinference.compose reads
# the kind as it stood when OpenInference ran: an embedding's vectors are summarized).
KIND_BEFORE_OPENLLMETRY = CONVENTIONS.index(openllmetry) * RANK_STEP
