"""Spyglass scorers: rule, metric and LLM-judge scorers, guardrails and monitors."""
