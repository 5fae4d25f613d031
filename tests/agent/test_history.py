"""Learning n-gram -> code associations and code priors from coded charts."""

from __future__ import annotations

from pathlib import Path

from agent.history import CodedChart, HistoryStore, grams, learn

CHARTS = [
    CodedChart("a", "Renal colic on the left side. Fever.", ["N23", "R50.9"]),
    CodedChart("b", "Severe renal colic.", ["N23", "I10"]),
    CodedChart("c", "Renal colic again; fever.", ["N23"]),
    CodedChart("d", "Fever of unknown origin.", ["I10"]),
]


def test_grams_keep_offsets_and_stop_at_sentence_punctuation() -> None:
    text = "Renal colics. The pain"
    found = {(g.key, text[g.start : g.end]) for g in grams(text)}
    assert ("renal colic", "Renal colics") in found
    assert ("pain", "pain") in found
    # No n-gram runs across the full stop; function words never start or end one.
    assert not any(key.startswith("colic pain") for key, _ in found)
    assert not any(key.split()[0] == "the" for key, _ in found)


def test_learns_supported_associations_and_priors() -> None:
    history = learn(CHARTS)
    by_gram = {
        (key, a.code): (a.support, a.strength)
        for key, found in history.associations.items()
        for a in found
    }
    assert by_gram[("renal colic", "N23")] == (3, 1.0)
    # Coded with fever in only one of three charts: below the minimum support.
    assert ("fever", "R50.9") not in by_gram
    assert ("fever", "I10") not in by_gram
    assert by_gram[("colic", "N23")] == (3, 1.0)
    assert history.charts == 4 and history.prior("N23") == 0.75
    hits = {(g.key, a.code) for g, a in history.matches("Known renal colic.")}
    assert ("renal colic", "N23") in hits
    assert history.codes_for("Renal colic")[0] == ("N23", 1.0)


def test_store_round_trip_replaces_a_source(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "history.sqlite")
    store.replace_source("train", learn(CHARTS))
    store.replace_source("train", learn(CHARTS))  # relearning replaces, never duplicates
    loaded = store.load()
    assert loaded.charts == 4 and loaded.code_charts["N23"] == 3
    assert loaded.codes_for("renal colic") == [("N23", 1.0)]
    assert loaded.examples(["renal colic"]) == [
        "renal colic -> N23 (chosen in 100% of coded charts)"
    ]
    store.replace_source("train", learn([]))
    assert store.count() == 0 and store.load().charts == 0
    store.close()


def test_learn_refuses_evaluation_splits(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from api.cli.main import app

    dev = tmp_path / "dev"
    dev.mkdir()
    result = CliRunner().invoke(app, ["learn", "--codiesp", str(dev)])
    assert result.exit_code == 1 and "learn from train only" in result.stderr


def test_a_code_never_coded_counts_the_codes_of_its_category() -> None:
    learned = learn(
        [
            CodedChart("a", "closed fracture of the left tibia", ["S82.202A"]),
            CodedChart("b", "fracture of the tibia and fibula", ["S82.202A", "S82.402A"]),
            CodedChart("c", "essential hypertension", ["I10"]),
        ]
    )
    assert learned.prior("S82.201A") == 0.0
    assert learned.category_charts("S82.201A") == 3
    assert learned.category_charts("I10") == 1
    assert learned.category_charts("J18.9") == 0
