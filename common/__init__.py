"""Spyglass's shared vocabulary: the bottom layer every part may import.

- :mod:`common.attributes` — every span/resource attribute name (the one owner)
- :mod:`common.pricing` (+ ``prices.json``) — the price table and ``cost_usd``
- :mod:`common.canonical` — canonical JSON, row hashes and dataset version ids
- :mod:`common.rowdiff` — the diff of two dataset row lists
- :mod:`common.stats`, :mod:`common.compare` — run statistics and run comparison
- :mod:`common.gate` — the regression gate's policy (practical thresholds, Holm, task-failure,
  latency and cost gates)
- :mod:`common.wire` — typed HTTP bodies shared by the collector's handlers and its clients

Rule (checked by import-linter, see ``[tool.importlinter]`` in pyproject.toml): nothing in
``common`` imports ``tracer``, ``collector``, ``evals``, ``scorers`` or ``console``. Keep
the modules pure (standard library, numpy/scipy, msgspec) and cheap to import: the
collector imports them at start and the tracer on the application's import path.
"""
