"""Safe JSON for inputs and outputs: every value becomes JSON, capped and redacted."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import uuid
from decimal import Decimal
from pathlib import Path

import numpy as np
import pydantic
import pytest

from common import attributes as A
from tests.tracer.helpers import Traced, json_attr
from tracer import op
from tracer.serialize import REDACTED, Serializer


class Color(enum.Enum):
    RED = "red"


class Doc(pydantic.BaseModel):
    id: int
    text: str
    tags: list[str] = []


@dataclasses.dataclass
class Query:
    text: str
    k: int = 3
    when: dt.date = dt.date(2025, 1, 2)


def load(value: object, **kwargs: object) -> object:
    return json.loads(Serializer(**kwargs).dumps(value))


def test_models_dataclasses_and_standard_types() -> None:
    assert load(Doc(id=1, text="hi", tags=["a"])) == {"id": 1, "text": "hi", "tags": ["a"]}
    assert load(Query("q")) == {"text": "q", "k": 3, "when": "2025-01-02"}
    assert load([Doc(id=2, text="x")]) == [{"id": 2, "text": "x", "tags": []}]
    assert load({"when": dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC)}) == {
        "when": "2025-01-02T03:04:05+00:00"}
    assert load(Color.RED) == "red"
    assert load(Decimal("1.5")) == 1.5
    assert load(uuid.UUID(int=1)) == "00000000-0000-0000-0000-000000000001"
    assert load(Path("/tmp/x")) == "/tmp/x"
    assert load({1: "a", (1, 2): "b"}) == {"1": "a", "[1, 2]": "b"}
    assert load({3, 1, 2}) == [1, 2, 3]
    assert load(float("nan")) == "nan"
    assert load(ValueError("bad")) == "ValueError: bad"


def test_numpy_scalars_and_arrays_are_summarized() -> None:
    assert load(np.float32(1.5)) == 1.5
    assert load(np.int64(7)) == 7
    summary = load(np.arange(1000, dtype=np.float64).reshape(10, 100))
    assert summary == {"type": "numpy.ndarray", "dtype": "float64", "shape": [10, 100],
                       "size": 1000, "preview": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]}


def test_bytes_are_summarized_not_dumped() -> None:
    out = load(b"\x00" * 5000)
    assert out.startswith("<bytes 5000 bytes: AAAA")
    assert len(out) < 100
    assert load(bytearray(b"ab")) == "<bytearray 2 bytes: YWI=>"


def test_cycles_depth_and_unrepresentable_objects() -> None:
    loop: dict = {"name": "root"}
    loop["self"] = loop
    items: list = [1]
    items.append(items)
    assert load(loop) == {"name": "root", "self": "[cycle]"}
    assert load(items) == [1, "[cycle]"]
    shared = {"x": 1}
    assert load([shared, shared]) == [{"x": 1}, {"x": 1}]  # repeats are not cycles

    deep: list = []
    cur = deep
    for _ in range(100):
        nxt: list = []
        cur.append(nxt)
        cur = nxt
    assert "max depth" in json.dumps(load(deep))

    class Opaque:
        def __repr__(self) -> str:
            return "<Opaque 42>"

    class Hostile:
        def __repr__(self) -> str:
            raise RuntimeError("no repr for you")

    assert load(Opaque()) == "<Opaque 42>"
    assert load(Hostile()) == "<unrepresentable Hostile>"


def test_size_cap_marks_truncation_per_value() -> None:
    out = load("x" * 500, max_chars=100)
    assert out == "x" * 100 + "…[truncated 400 chars]"
    many = load(list(range(5000)), max_chars=100)
    assert isinstance(many, str) and many.endswith("chars]") and len(many) < 200
    inputs = json.loads(Serializer(max_chars=100).dumps_inputs(
        {"short": "ok", "long": "y" * 1000, "big": {"k": "z" * 1000}}))
    assert inputs["short"] == "ok"
    assert inputs["long"] == "y" * 100 + "…[truncated 900 chars]"
    assert inputs["big"] == {"k": "z" * 100 + "…[truncated 900 chars]"}
    assert len(load(list(range(5000)), max_chars=100_000)) == 1001  # item cap + marker


def test_secret_keys_are_redacted_everywhere_but_counts_are_kept() -> None:
    value = {
        "api_key": "sk-1", "Authorization": "Bearer x", "password": "p", "db_password": "p",
        "client_secret": "s", "access_token": "t", "token": "t", "X-Api-Key": "k",
        "headers": {"authorization": "Bearer y", "accept": "json"},
        "max_tokens": 100, "input_tokens": 5, "keyboard": "qwerty", "author": "me",
    }
    out = load(value)
    for key in ("api_key", "Authorization", "password", "db_password", "client_secret",
                "access_token", "token", "X-Api-Key"):
        assert out[key] == REDACTED, key
    assert out["headers"] == {"authorization": REDACTED, "accept": "json"}
    assert (out["max_tokens"], out["input_tokens"]) == (100, 5)
    assert (out["keyboard"], out["author"]) == ("qwerty", "me")
    assert load(value, redact=False)["api_key"] == "sk-1"
    assert load({"ssn": "1"}, extra_keys=frozenset({"ssn"})) == {"ssn": REDACTED}


def test_op_inputs_and_outputs_use_the_serializer(traced: Traced) -> None:
    @op
    def search(query: Query, docs: list[Doc], embedding: np.ndarray, password: str,
               blob: bytes) -> dict:
        return {"top": docs[0], "token": "secret-token", "score": np.float64(0.9)}

    search(Query("q"), [Doc(id=1, text="t")], np.zeros(3), "hunter2", b"abc")
    span = traced.one("search")
    inputs = json_attr(span, A.INPUTS)
    assert inputs["query"]["text"] == "q"
    assert inputs["docs"] == [{"id": 1, "text": "t", "tags": []}]
    assert inputs["embedding"]["shape"] == [3]
    assert inputs["password"] == REDACTED
    assert inputs["blob"].startswith("<bytes 3 bytes")
    output = json_attr(span, A.OUTPUT)
    assert output == {"top": {"id": 1, "text": "t", "tags": []}, "token": REDACTED,
                      "score": 0.9}
    assert "hunter2" not in span.attributes[A.INPUTS]


@pytest.mark.parametrize("value", [object(), lambda: 1, type, iter([1]), {1, "a"}])
def test_anything_serializes_to_valid_json(value: object) -> None:
    json.loads(Serializer().dumps(value))


def test_inputs_json_escapes_every_string_correctly() -> None:
    inputs = {"naïve": 'é\n"quoted"\t\\', "emoji": "🚀", 'we"ird': None, "flag": False,
              "n": -7, "x": 1.5, "big": 10**30, "nested": {"k": ["\u0000", "ü"]}}
    text = Serializer().dumps_inputs(inputs)
    assert json.loads(text) == inputs
    assert "🚀" in text  # non-ASCII kept readable, not \\u-escaped
