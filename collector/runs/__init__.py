"""Evaluation runs in the store: conversions between wire bodies, storage rows and API
answers (:mod:`.convert`), reads (:mod:`.store`), and sealing, manifests and the project
log (:mod:`.seal`). The route module is ``collector/api/evals.py``."""
