"""The cheaper per-call paths of issue 20 keep what the answers said: orjson writes the same
JSON the standard encoder did (dates and odd objects as text, numpy numbers as numbers), falls
back where orjson cannot write a value, and a server freezes its start-up heap only after
importing what its requests need."""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import json
import sys
from collections.abc import Iterator

import numpy as np
import pytest

from ivig.service.app import HOT_MODULES, freeze_startup_heap
from ivig.service.errors import json_bytes


@dataclasses.dataclass
class Odd:
    name: str


def test_json_bytes_writes_what_the_standard_encoder_wrote() -> None:
    content = {
        "date": dt.date(2026, 3, 1),
        "when": dt.datetime(2026, 3, 1, 8, 30),
        "odd": Odd("x"),
        "numpy_float": np.float64(2.5),
        "numpy_int": np.int64(3),
        1: "integer key",
        "text": "IgG 7 g/L — é",
        "nested": [{"a": None, "b": True, "c": 0.1}],
    }
    ours = json.loads(json_bytes(content))
    theirs = json.loads(json.dumps(content, ensure_ascii=False, default=str))
    # numpy numbers: the standard encoder wrote a float subclass as a number, an int64 as text
    assert ours["numpy_float"] == 2.5 and theirs["numpy_float"] == 2.5
    assert ours["numpy_int"] == 3
    del ours["numpy_int"], theirs["numpy_int"]
    assert ours == theirs
    assert ours["date"] == "2026-03-01" and ours["when"] == "2026-03-01 08:30:00"
    assert "é".encode() in json_bytes(content)  # UTF-8, not \\u escapes


def test_json_bytes_falls_back_where_orjson_cannot_write() -> None:
    huge = 2**70  # beyond 64 bits: orjson refuses, the standard encoder writes it
    assert json.loads(json_bytes({"n": huge, "f": float("inf")})) == {"n": huge, "f": "inf"}
    # on orjson's own path a non-finite float (no result holds one) is written null
    assert json.loads(json_bytes({"f": float("nan")})) == {"f": None}


@pytest.fixture
def thawed() -> Iterator[None]:
    yield
    gc.unfreeze()


@pytest.mark.usefixtures("thawed")
def test_freezing_the_heap_imports_the_request_paths_first() -> None:
    freeze_startup_heap()
    assert gc.get_freeze_count() > 0
    assert all(name in sys.modules for name in HOT_MODULES)
    from ivig.service.fhir import units

    assert units._registry.cache_info().currsize == 1  # the UCUM registry is built
