"""Typed HTTP bodies: the one declaration of what each route reads and returns.

Convention: one module per route group (``common/wire/evals.py``, ``datasets.py``,
``feedback.py``, ``projects.py``, ``monitors.py``, …), each holding ``msgspec.Struct``
types. The collector's Litestar handlers take them as ``data: SomeStruct`` and return
them, so ``/schema`` documents every request and response body; the clients (the evals
client, ``tracer.feedback``, the monitors) build and decode the same Structs instead of
hand-made dicts. Like the rest of :mod:`common`, these modules import only msgspec and
the standard library, never ``tracer``, ``collector``, ``evals`` or ``scorers``.
"""
