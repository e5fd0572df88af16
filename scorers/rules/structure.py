"""Structure rule scorers: valid JSON, JSON-schema conformance and length bounds."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import jsonschema

from scorers.base import Score, Scorer, ScorerError

_FENCE = re.compile(r"^\s*```(?:json)?\s*\n(.*?)\n?```\s*$", re.S)


def _parse_json(value: Any, allow_fences: bool) -> tuple[Any, str | None]:
    """(parsed value, error message); non-string outputs are already parsed values."""
    if not isinstance(value, str | bytes):
        return value, None
    text = value.decode() if isinstance(value, bytes) else value
    if allow_fences:
        m = _FENCE.match(text)
        if m:
            text = m.group(1)
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"


class ValidJSON(Scorer):
    """``output`` parses as JSON (optionally of a given top-level type)."""

    default_name = "valid_json"
    _TYPES = {"object": dict, "array": list, "string": str, "number": (int, float), "boolean": bool}

    def __init__(self, *, allow_fences: bool = False, type: str | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        if type is not None and type not in self._TYPES:
            raise ScorerError(f"valid_json: type must be one of {sorted(self._TYPES)}, got {type!r}")
        self.allow_fences = allow_fences
        self.type = type

    def _score(self, output: Any) -> Score:
        parsed, error = _parse_json(output, self.allow_fences)
        if error:
            return self.make_score(False, error)
        if self.type and not isinstance(parsed, self._TYPES[self.type]):
            return self.make_score(False, f"JSON is a {type(parsed).__name__}, expected {self.type}")
        return self.make_score(True)


def valid_json(
    *, allow_fences: bool = False, type: str | None = None,
    name: str | None = None, column_map: Mapping[str, str] | None = None,
) -> ValidJSON:
    """``output`` is valid JSON; ``allow_fences`` accepts a ```json fenced block."""
    return ValidJSON(allow_fences=allow_fences, type=type, name=name, column_map=column_map)


class JSONSchema(Scorer):
    """``output`` (JSON text or an already-parsed value) conforms to a JSON Schema."""

    default_name = "json_schema"

    def __init__(self, schema: Mapping[str, Any], *, allow_fences: bool = False, **kw: Any) -> None:
        super().__init__(**kw)
        cls = jsonschema.validators.validator_for(schema)
        try:
            cls.check_schema(schema)
        except jsonschema.SchemaError as exc:
            raise ScorerError(f"json_schema: the schema itself is invalid: {exc.message}") from exc
        self.validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
        self.allow_fences = allow_fences

    def _score(self, output: Any) -> Score:
        parsed, error = _parse_json(output, self.allow_fences)
        if error:
            return self.make_score(False, error)
        errors = sorted(self.validator.iter_errors(parsed), key=lambda e: list(e.path))
        if not errors:
            return self.make_score(True)
        messages = [f"{'/'.join(map(str, e.path)) or '(root)'}: {e.message}" for e in errors]
        return self.make_score(False, "; ".join(messages[:5]), {"errors": messages})


def json_schema(
    schema: Mapping[str, Any], *, allow_fences: bool = False,
    name: str | None = None, column_map: Mapping[str, str] | None = None,
) -> JSONSchema:
    """``output`` conforms to ``schema`` (any draft ``jsonschema`` supports, formats checked)."""
    return JSONSchema(schema, allow_fences=allow_fences, name=name, column_map=column_map)


class Length(Scorer):
    """Length of ``output`` in chars, words or tokens; passes within [min, max]."""

    default_name = "length"
    UNITS = ("chars", "words", "tokens")

    def __init__(self, *, min: int | None = None, max: int | None = None, unit: str = "chars",
                 model: str | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        if unit not in self.UNITS:
            raise ScorerError(f"length: unit must be one of {self.UNITS}, got {unit!r}")
        if min is not None and max is not None and min > max:
            raise ScorerError(f"length: min ({min}) is greater than max ({max})")
        self.min, self.max, self.unit, self.model = min, max, unit, model

    def _count(self, text: str) -> int:
        if self.unit == "chars":
            return len(text)
        if self.unit == "words":
            return len(text.split())
        # Imported lazily: the tokenizer belongs to the tracer's LLM part and loads BPE files.
        from tracer.llm.tokens import count_tokens

        return int(count_tokens(text, self.model))

    def _score(self, output: Any) -> Score:
        text = output if isinstance(output, str) else json.dumps(output, default=str)
        n = self._count(text)
        problems = []
        if self.min is not None and n < self.min:
            problems.append(f"{n} {self.unit} < min {self.min}")
        if self.max is not None and n > self.max:
            problems.append(f"{n} {self.unit} > max {self.max}")
        ok = not problems if (self.min is not None or self.max is not None) else None
        return self.make_score(float(n), "; ".join(problems) or None, {"unit": self.unit}, passed=ok)

    def summarize(self, scores: list[Score]) -> dict[str, Any]:
        """Mean, min and max length, plus the pass rate when bounds are set."""
        out = super().summarize(scores)
        values = [float(s.value) for s in scores if isinstance(s.value, float)]
        if values:
            out["min"], out["max"] = min(values), max(values)
        return out


def length(
    *, min: int | None = None, max: int | None = None, unit: str = "chars", model: str | None = None,
    name: str | None = None, column_map: Mapping[str, str] | None = None,
) -> Length:
    """Length of ``output`` (``unit``: chars, words, or tokens with the tracer's tokenizer)."""
    return Length(min=min, max=max, unit=unit, model=model, name=name, column_map=column_map)
