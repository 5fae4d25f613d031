"""Learning phrase -> code associations from coded charts."""

from __future__ import annotations

from pathlib import Path

from agent.history import CodedChart, HistoryStore, learn
from retrieval.search import HybridSearcher


def test_learns_consistent_associations_only(searcher: HybridSearcher, tmp_path: Path) -> None:
    charts = [
        CodedChart("a", ["renal colic", "fever"], ["N23", "R50.9"]),
        CodedChart("b", ["renal colic"], ["N23", "I10"]),
        CodedChart("c", ["renal colic", "fever"], ["N23"]),
        CodedChart("d", ["fever"], ["I10"]),
    ]
    rows = {
        (phrase, code): (support, strength)
        for phrase, code, support, strength in learn(charts, searcher.store)
    }
    assert rows[("renal colic", "N23")] == (3, 1.0)
    # "fever" shares a word with R50.9 but was coded so in only 1 chart: not enough support.
    assert ("fever", "R50.9") not in rows
    # No shared word and too rare: "renal colic" does not learn I10.
    assert ("renal colic", "I10") not in rows

    store = HistoryStore(tmp_path / "history.sqlite")
    store.replace_source("test", list(learn(charts, searcher.store)))
    assert store.codes_for("Renal colic") == [("N23", 1.0)]
    assert store.examples(["renal colic"]) == [
        "renal colic -> N23 (chosen in 100% of coded charts)"
    ]
    store.replace_source("test", [])  # relearning replaces, never duplicates
    assert store.count() == 0


def test_learn_refuses_evaluation_splits(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from api.cli.main import app

    dev = tmp_path / "dev"
    dev.mkdir()
    result = CliRunner().invoke(app, ["learn", "--codiesp", str(dev)])
    assert result.exit_code == 1 and "learn from train only" in result.stderr
