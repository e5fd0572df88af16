"""Versioned datasets in the store (``store``); the routes are ``collector/api/datasets.py``."""
