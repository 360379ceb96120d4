"""The knowledge cache the command line starts from (``ivig.knowledge.loader``): it holds the
validated data and the term index that resolves condition names, both equal to what a fresh
load builds; a file of another layout is ignored; the key follows the data and the code."""

from __future__ import annotations

import marshal
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ivig.knowledge import loader
from ivig.knowledge.base import KnowledgeBase
from ivig.knowledge.loader import load_knowledge
from ivig.knowledge.validate import DATA_DIR


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache directory, and no knowledge base loaded in this process."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("IVIG_CACHE_DIR", str(folder))
    monkeypatch.delenv("IVIG_NO_CACHE", raising=False)
    monkeypatch.setattr(loader, "_loaded", {})
    return folder


def _validations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record each validation of the data files (each load the cache did not answer)."""
    calls: list[str] = []
    validated = loader._validated

    def counting(root: str) -> object:
        calls.append(root)
        return validated(root)

    monkeypatch.setattr(loader, "_validated", counting)
    return calls


def test_a_cached_knowledge_base_resolves_every_name_as_a_fresh_one(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _validations(monkeypatch)
    first = load_knowledge()
    monkeypatch.setattr(loader, "_loaded", {})
    cached = load_knowledge()
    assert len(calls) == 1, "the second load should come from the cache"
    assert cached is not first
    assert cached.data == first.data
    fresh = KnowledgeBase(cached.data)
    names = ["guillain_barre", "Guillain-Barré syndrome", "CIDP", "nope", "", "lupus", "itp"]
    for condition in cached.data["conditions"]:
        names += [condition["id"], condition["name"], *condition.get("synonyms", [])]
    for name in names:
        assert cached.resolve_condition(name) == fresh.resolve_condition(name), name
        assert cached.non_neuro_use(name) == fresh.non_neuro_use(name), name
    assert cached._index["terms:conditions"] == fresh._index["terms:conditions"]


def test_a_cache_file_of_another_layout_is_ignored_and_rewritten(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb = load_knowledge()
    [path] = cache.glob("kb-*.marshal")
    path.write_bytes(marshal.dumps(dict(kb.data)))  # the data alone, as the first layout held it
    monkeypatch.setattr(loader, "_loaded", {})
    calls = _validations(monkeypatch)
    again = load_knowledge()
    assert len(calls) == 1
    assert again.data == kb.data
    assert marshal.loads(path.read_bytes())["layout"] == loader._CACHE_LAYOUT


@pytest.mark.parametrize("garbage", [b"", b"\x00\x01", marshal.dumps({"layout": 2}), b"x" * 99])
def test_an_unreadable_cache_file_is_ignored(
    garbage: bytes, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb = load_knowledge()
    [path] = cache.glob("kb-*.marshal")
    path.write_bytes(garbage)
    monkeypatch.setattr(loader, "_loaded", {})
    assert load_knowledge().data == kb.data


def test_the_cache_key_follows_the_data_and_the_knowledge_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    code = tmp_path / "code"
    code.mkdir()
    (code / "schema.py").write_text("X = 1\n")
    monkeypatch.setattr(loader, "_CODE_DIR", str(code))
    key = loader._cache_key(str(data))
    assert loader._cache_key(str(data)) == key
    (code / "schema.py").write_text("X = 22\n")
    assert loader._cache_key(str(data)) != key, "a changed validator must not read old data"
    key = loader._cache_key(str(data))
    meta = data / "meta.yaml"
    meta.write_text(meta.read_text() + "\n")
    assert loader._cache_key(str(data)) != key, "changed data must be validated again"
    key = loader._cache_key(str(data))
    (code / "notes.txt").write_text("not code")
    os.utime(data, None)
    assert loader._cache_key(str(data)) == key


def test_the_cache_file_name_is_the_same_in_every_process() -> None:
    """The digest of the cache key is not salted per process as string hashes are."""
    code = "from ivig.knowledge import loader; print(loader._cache_key(loader._DATA_DIR))"
    names = {
        subprocess.run(
            [sys.executable, "-c", code],
            env=dict(os.environ, PYTHONHASHSEED=seed),
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("0", "1", "random")
    }
    assert len(names) == 1


def test_a_changed_key_names_another_cache_file() -> None:
    key = "\n".join(["0.1.0", "1", "2", "/data/meta.yaml:120:1700000000000000000"])
    changed = {key.replace("120", "121"), key.replace("1700", "1701"), key + "\n", key[:-1]}
    assert loader.cache_digest(key) not in {loader.cache_digest(k) for k in changed}
