"""tiktoken counts tokens from the local BPE files, never from the network."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wiring.adapters import prepare_tiktoken
from wiring.settings import Settings


def test_tiktoken_loads_encodings_from_the_data_dir(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TIKTOKEN_CACHE_DIR", raising=False)
    cache = prepare_tiktoken(Settings(home=tmp_path, data_dir=shared_data))
    assert cache is not None and os.environ["TIKTOKEN_CACHE_DIR"] == str(cache)
    assert len(list(cache.iterdir())) == 2
    import tiktoken

    encoding = tiktoken.get_encoding("cl100k_base")
    assert encoding.decode(encoding.encode("Type 2 diabetes mellitus")) == (
        "Type 2 diabetes mellitus"
    )
    assert len(encoding.encode("hello world")) == 2


def test_without_reference_files_nothing_is_prepared(tmp_path: Path) -> None:
    assert prepare_tiktoken(Settings(home=tmp_path, data_dir=tmp_path)) is None
