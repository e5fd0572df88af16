"""Spyglass evaluations: versioned datasets, the runner and regression tracking."""
