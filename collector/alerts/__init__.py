"""Alerts: rules on a dashboard series, evaluated in the collector (issue 15).

``store`` keeps rules and history in ClickHouse, ``series`` computes a rule's value over a
window, ``notify`` posts to webhooks with retries, ``worker`` evaluates every rule on a timer
in one background thread (off the ingest path) started and stopped with the app.
"""
