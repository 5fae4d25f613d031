"""The lexicon saved once per KB version: read back equal to a fresh build, and a stale or
damaged file rebuilt rather than trusted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.lexicon import FILE_FORMAT, Lexicon, LexiconFileError
from retrieval.search import HybridSearcher
from retrieval.store import KnowledgeStore
from wiring import adapters
from wiring.adapters import LEXICON_FILE, cached_lexicon, prepare_lexicon
from wiring.settings import Settings

CHARTS = Path(__file__).parent / "charts"


@pytest.fixture(scope="module")
def fresh(searcher: HybridSearcher) -> Lexicon:
    return Lexicon.from_store(searcher.store)


@pytest.fixture
def home(searcher: HybridSearcher, tmp_path: Path) -> Path:
    """A MEDCODER_HOME whose one KB version links the session KB's store: a folder of its
    own for the lexicon file, without copying the 100 MB store."""
    version = tmp_path / "kb" / "versions" / "v1"
    version.mkdir(parents=True)
    (version / "kb.sqlite").symlink_to(searcher.store.path.resolve())
    (tmp_path / "kb" / "current").symlink_to(Path("versions") / "v1")
    return tmp_path


def _store(home: Path) -> KnowledgeStore:
    return KnowledgeStore(home / "kb" / "versions" / "v1" / "kb.sqlite")


def _rewrite_header(path: Path, **changes: object) -> None:
    head, _, body = path.read_bytes().partition(b"\n")
    header = json.loads(head) | changes
    path.write_bytes(json.dumps(header).encode() + b"\n" + body)


def test_saved_lexicon_reads_back_equal_to_a_fresh_build(fresh: Lexicon, tmp_path: Path) -> None:
    path = fresh.save(tmp_path / LEXICON_FILE)
    loaded = Lexicon.load(path)
    assert loaded._flags == fresh._flags  # every phrase with the same kind bits
    assert loaded.max_tokens == fresh.max_tokens
    for chart in sorted(CHARTS.glob("*.txt")):
        text = chart.read_text()
        assert loaded.match(text) == fresh.match(text), chart.name
    assert loaded.canonical("CHF w/ afib") == fresh.canonical("CHF w/ afib")
    assert [p.name for p in tmp_path.iterdir()] == [LEXICON_FILE]  # no temporary file left


def test_prepare_lexicon_writes_the_file_once(home: Path, fresh: Lexicon) -> None:
    path = prepare_lexicon(Settings(home=home))
    assert path == home / "kb" / "versions" / "v1" / LEXICON_FILE
    assert Lexicon.load(path)._flags == fresh._flags
    written = path.stat().st_mtime_ns
    assert prepare_lexicon(Settings(home=home)) == path
    assert path.stat().st_mtime_ns == written  # a usable file is kept, not rebuilt


@pytest.mark.parametrize(
    "header",
    [{"format": FILE_FORMAT - 1}, {"format": FILE_FORMAT + 1}, {"rules": "older rules"}],
    ids=["older-format", "newer-format", "other-rules"],
)
def test_a_stale_file_is_rebuilt(
    home: Path, fresh: Lexicon, header: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(adapters, "_LEXICONS", {})
    path = fresh.save(home / "kb" / "versions" / "v1" / LEXICON_FILE)
    _rewrite_header(path, **header)
    with pytest.raises(LexiconFileError):
        Lexicon.load(path)
    assert cached_lexicon(HybridSearcher(_store(home), {}, None, None))._flags == fresh._flags
    assert Lexicon.load(path)._flags == fresh._flags  # and saved again, current


def _flip_one_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    at = data.index(b'"abasia":') + len(b'"abasia":')  # a kind value: still valid JSON
    data[at] = ord("9") if data[at] != ord("9") else ord("8")
    path.write_bytes(bytes(data))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _garbage(path: Path) -> None:
    path.write_bytes(b"\x80\x04\x95 not a lexicon at all")


@pytest.mark.parametrize("damage", [_flip_one_byte, _truncate, _garbage])
def test_a_damaged_file_is_rebuilt_not_trusted(home: Path, fresh: Lexicon, damage: object) -> None:
    path = fresh.save(home / "kb" / "versions" / "v1" / LEXICON_FILE)
    damage(path)  # type: ignore[operator]
    with pytest.raises(LexiconFileError):
        Lexicon.load(path)
    assert prepare_lexicon(Settings(home=home)) == path
    assert Lexicon.load(path)._flags == fresh._flags


def test_a_read_only_kb_is_served_from_a_lexicon_built_in_memory(
    home: Path, fresh: Lexicon, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(self: Lexicon, path: Path) -> Path:
        raise PermissionError(f"{path}: read-only file system")

    monkeypatch.setattr(Lexicon, "save", refuse)  # root ignores folder permissions
    monkeypatch.setattr(adapters, "_LEXICONS", {})
    lexicon = cached_lexicon(HybridSearcher(_store(home), {}, None, None))
    assert lexicon._flags == fresh._flags
    assert not (home / "kb" / "versions" / "v1" / LEXICON_FILE).exists()
