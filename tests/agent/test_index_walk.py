"""The Alphabetic Index walk on the real index: qualified main terms and see references."""

from __future__ import annotations

from agent.candidates import _other_statement_words, index_candidates
from agent.chart import build_chart
from agent.codeset import default_billable
from agent.index_walk import (
    DENIED,
    _requirements,
    context_words,
    documented_words,
    walk,
    walk_keys,
)
from agent.models import ChartMeta, Mention, Span
from agent.specificity import Statement
from agent.tables import table_candidates
from retrieval.store import KnowledgeStore


def _code(store: KnowledgeStore, text: str) -> str | None:
    context = context_words(text)
    path = walk(store, "fracture", context)
    if path is None:
        return None
    record = default_billable(store, path.code, context=documented_words(text))
    return record.code if record else path.code


def test_a_fracture_is_traumatic_unless_the_chart_says_pathological(store: KnowledgeStore) -> None:
    traumatic = _code(store, "fracture of the right tibia shaft")
    assert traumatic is not None and traumatic.startswith("S82.")
    pathological = _code(store, "pathological fracture of the right tibia")
    assert pathological is not None and pathological.startswith("M84.46")


def test_a_see_reference_inside_a_qualified_main_term_is_followed(store: KnowledgeStore) -> None:
    # "Fracture, traumatic > calcaneus: see Fracture, tarsal, calcaneus", filed as
    # "Fracture, traumatic > tarsal bone > calcaneus".
    code = _code(store, "closed displaced fracture of the right calcaneus")
    assert code is not None and code.startswith("S92.0") and code.endswith("A")


def test_a_see_reference_stays_under_its_own_qualified_main_term(store: KnowledgeStore) -> None:
    # "Fracture, traumatic > malleolus: see Fracture, ankle" is "Fracture, traumatic > ankle",
    # never "Fracture, pathological > ankle"; "lateral malleolus only" needs no "only".
    code = _code(store, "closed nondisplaced fracture of right lateral malleolus")
    assert code == "S82.64XA"


def test_an_undocumented_side_is_the_unspecified_one(store: KnowledgeStore) -> None:
    code = _code(store, "displaced intertrochanteric fracture of femur")
    assert code == "S72.143A"


def _walked(store: KnowledgeStore, main_term: str, text: str) -> str | None:
    path = walk(store, main_term, context_words(text))
    return path.code if path is not None else None


def test_or_in_a_subterm_lists_alternatives(store: KnowledgeStore) -> None:
    # "Fibrillation > atrial or auricular (established)": either word is enough, while
    # "ectopic or molar pregnancy" still needs the word both alternatives share.
    assert _walked(store, "fibrillation", "atrial fibrillation") == "I48.91"
    assert _walked(store, "fibrillation", "auricular fibrillation") == "I48.91"
    assert _walked(store, "fibrillation", "paroxysmal atrial fibrillation") == "I48.0"
    assert _walked(store, "fibrillation", "fibrillation") is None
    # An "or" group is one requirement: "acute or subacute" takes either word.
    either = frozenset(walk_keys("acute subacute"))
    assert _requirements("acute or subacute") == ((frozenset(), (either,)),)
    needed, groups = _requirements("ectopic or molar pregnancy")[0]
    assert needed == frozenset(walk_keys("pregnancy")) and len(groups) == 1


def test_an_inflammation_is_not_its_organ(store: KnowledgeStore) -> None:
    # "Reflux > gastroesophageal > with esophagitis": "esophageal" must not read as
    # "esophagitis" (the stemmer gives both "esophag"), nor "hepatic" as "hepatitis".
    assert _walked(store, "reflux", "gastro-esophageal reflux disease") == "K21.9"
    assert _walked(store, "reflux", "gastroesophageal reflux with esophagitis") == "K21.00"
    assert set(walk_keys("hepatitis")).isdisjoint(walk_keys("hepatic"))
    assert set(walk_keys("esophagitis")).isdisjoint(walk_keys("esophageal"))


def test_a_denied_subterm_is_walked_when_the_chart_denies_it(store: KnowledgeStore) -> None:
    # "Concussion > no loss of consciousness S06.0X0": the chart's "without loss of
    # consciousness" reaches it; the words alone ("with loss of consciousness") do not.
    denied = context_words("concussion")
    denied.update({DENIED + key: 2 for key in walk_keys("loss of consciousness")})
    path = walk(store, "concussion", denied)
    assert path is not None and path.code == "S06.0X0"
    assert _walked(store, "concussion", "concussion with loss of consciousness") != "S06.0X0"


def test_a_type_letter_after_a_word_walks_its_letter_subterm(store: KnowledgeStore) -> None:
    # "Influenza > A (non-novel) J10-": the letter is a stopword to the walk unless the chart
    # writes it after a word; "A 45-year-old ..." is no influenza type.
    assert _walked(store, "influenza", "Influenza A with cough and myalgias") == "J10-"
    assert _walked(store, "influenza", "A 45-year-old with influenza") == "J11.1"
    assert _walked(store, "influenza", "influenza. Plan A: fluids") == "J11.1"


def test_heart_failure_type_and_acuity_below_the_stages_note(store: KnowledgeStore) -> None:
    # The index CSV's note on heart failure stages sits one level too high; the subterms
    # after it (systolic, thyrotoxic, ...) are still "Failure > heart" subterms.
    text = "acute on chronic heart failure with reduced ejection fraction, systolic"
    assert _walked(store, "failure", text) == "I50.23"
    # "acute > and (on) chronic": the connector line's words are in its modifier column.
    assert _walked(store, "failure", "acute on chronic diastolic heart failure") == "I50.33"
    assert _walked(store, "failure", "acute diastolic heart failure") == "I50.31"


def test_a_stone_is_a_calculus_to_the_walk(store: KnowledgeStore) -> None:
    text = "obstructing left distal ureteral stone with hydronephrosis"
    assert _walked(store, "hydronephrosis", text) == "N13.2"
    # Cholecystitis is of the gallbladder: "calculous cholecystitis" reads on to the calculus.
    assert _walked(store, "cholecystitis", "acute calculous cholecystitis") == "K80.00"


def test_a_plural_and_a_see_also_lead_where_a_coder_looks(store: KnowledgeStore) -> None:
    # "Stone: see also Calculus"; "Calculus > biliary: see also Calculus, gallbladder";
    # plurals name their main term ("stones": Stone, "adenopathies": Adenopathy).
    assert _walked(store, "stones", "residual bile duct stones") == "K80.50"
    assert _walked(store, "lithiasis", "biliary lithiasis") == "K80.20"
    assert _walked(store, "stones", "an image of large stones in the bladder") == "N21.0"
    assert _walked(store, "adenopathies", "generalized adenopathies") == "R59.1"


def test_an_adenopathy_of_a_named_node_region_is_localized(store: KnowledgeStore) -> None:
    # The index's own sites (Adenopathy > inguinal, mediastinal) are R59.0 "localized"; a
    # region it does not list is localized too, unless the chart says generalized.
    assert _walked(store, "adenopathies", "retroperitoneal adenopathies") == "R59.0"
    assert _walked(store, "lymphadenopathy", "bilateral axillary lymphadenopathy") == "R59.0"
    assert _walked(store, "lymphadenopathy", "generalized cervical lymphadenopathy") == "R59.1"
    assert _walked(store, "lymphadenopathy", "lymphadenopathy") == "R59.1"


def test_the_neoplasm_table_reads_the_sub_site_and_side(store: KnowledgeStore) -> None:
    sentence = "Invasive ductal carcinoma of the upper-outer quadrant of the right breast."
    at = sentence.index("carcinoma")
    mention = Mention(
        text="carcinoma", span=Span(start=at, end=at + 9, quote="carcinoma"), kind="condition"
    )
    found = table_candidates(store, mention, sentence, 0)
    assert [c.code for c in found] == ["C50.411"]
    assert "upper-outer quadrant" in found[0].citations[0].label


def _table(store: KnowledgeStore, sentence: str, word: str) -> list[str]:
    at = sentence.index(word)
    mention = Mention(
        text=word, span=Span(start=at, end=at + len(word), quote=word), kind="condition"
    )
    return [c.code for c in table_candidates(store, mention, sentence, 0)]


def test_each_neoplasm_of_a_sentence_is_read_in_its_own_part(store: KnowledgeStore) -> None:
    # "Colon" is filed twice in the table; "sigmoid" is under "intestine > large > colon".
    sentence = "Adenocarcinoma of the sigmoid colon with metastases to the liver."
    assert _table(store, sentence, "Adenocarcinoma") == ["C18.7"]
    assert _table(store, sentence, "metastases") == ["C78.7"]
    # "RUL" is the right upper lobe once the sentence is in the code set's wording.
    assert _table(store, "Primary lung adenocarcinoma, right upper lobe", "adenocarcinoma") == [
        "C34.11"
    ]


def test_a_deficit_follows_a_stroke_only_when_the_chart_says_it_came_after(
    store: KnowledgeStore,
) -> None:
    sequela = "left hemiparesis due to prior cerebral infarction"
    path = walk(store, "hemiparesis", context_words("hemiparesis", sequela))
    assert path is not None and path.code == "I69.35-"
    # The left side is the non-dominant one unless the chart says otherwise (I.C.6.a).
    record = default_billable(store, path.code, context=documented_words(sequela))
    assert record is not None and record.code == "I69.354"
    acute = "acute cerebral infarction with left hemiparesis"
    path = walk(store, "hemiparesis", context_words("hemiparesis", acute))
    assert path is not None and path.code.startswith("G81.9")
    record = default_billable(store, path.code, context=documented_words(acute))
    assert record is not None and record.code == "G81.94"
    right = default_billable(store, "G81.9-", context=documented_words("right hemiparesis"))
    assert right is not None and right.code == "G81.91"


def test_a_subterm_with_its_own_code_beats_a_see_reference_and_holds(
    store: KnowledgeStore,
) -> None:
    # "femur > subcapital S72.01-" and "femur > neck: see ... upper end, neck" both match;
    # the coded line wins, and "neck" in the statement does not pull it back to S72.00-.
    sentence = "Closed displaced subcapital fracture of left femoral neck"
    assert _code(store, sentence) == "S72.012A"
    at = sentence.index("fracture")
    mention = Mention(
        text="fracture", span=Span(start=at, end=at + 8, quote="fracture"), kind="condition"
    )
    found = index_candidates(store, mention, 0, sentence, Statement.read(sentence))
    assert [c.code for c in found] == ["S72.012A"]


def test_involving_is_a_connector(store: KnowledgeStore) -> None:
    text = "Acute anterior ST elevation myocardial infarction due to left anterior descending "
    text += "coronary artery occlusion"
    assert _walked(store, "infarction", text) == "I21.02"
    assert _walked(store, "infarction", "Acute anterior ST elevation myocardial infarction") == (
        "I21.09"
    )


def test_the_tabular_child_a_word_names_alone_and_the_not_specified_default(
    store: KnowledgeStore,
) -> None:
    # "both eyes" is "bilateral"; "eye" alone is in three of the four children's titles.
    both = documented_words("moderate nonproliferative diabetic retinopathy, both eyes")
    record = default_billable(store, "E11.331", context=both | {"bilateral"})
    assert record is not None and record.code == "E11.3313"
    # "..., not specified as recurrent" is the default, not the recurrent A04.71.
    record = default_billable(store, "A04.7")
    assert record is not None and record.code == "A04.72"


def test_one_documented_side_is_the_index_unilateral(store: KnowledgeStore) -> None:
    # Osteoarthritis > knee (M17.9) > unilateral (M17.1-): "right knee" is one knee.
    assert _walked(store, "osteoarthritis", "osteoarthritis of right knee") == "M17.1-"
    assert _walked(store, "osteoarthritis", "osteoarthritis of both knees") != "M17.1-"
    assert _walked(store, "osteoarthritis", "osteoarthritis of knee") == "M17.9"


def test_a_chain_of_see_references_is_followed_to_a_code(store: KnowledgeStore) -> None:
    # Fracture, traumatic > hip: see Fracture, femur, neck, itself a see reference to
    # Fracture, femur, upper end, neck (S72.00-).
    assert _code(store, "fracture of left hip, initial encounter") == "S72.002A"
    entry = store.resolve_see("Fracture, femur, neck")
    assert entry is not None and entry.code == "S72.00-"


def test_another_conditions_words_are_not_this_ones_subterms(store: KnowledgeStore) -> None:
    # "shortness of breath" is a diagnosis of its own in the list: chest pain is not "Pain,
    # chest, on breathing" (R07.1) for it. Within one statement the words still count.
    text = "A: Pleuritic chest pain, shortness of breath."
    chart = build_chart(text, ChartMeta(setting="outpatient"))

    def mention(words: str) -> Mention:
        at = text.index(words)
        return Mention(
            text=words, span=Span(start=at, end=at + len(words), quote=words), kind="condition"
        )

    mentions = [mention("chest pain"), mention("shortness of breath")]
    statements = [Statement.read("Pleuritic chest pain"), Statement.read("shortness of breath")]
    elsewhere = _other_statement_words(chart, mentions, statements)
    assert "breath" in elsewhere[0] and "chest" not in elsewhere[0]
    apart = index_candidates(store, mentions[0], 0, text, statements[0], elsewhere[0])
    leaked = index_candidates(store, mentions[0], 0, text, statements[0])
    assert "R07.1" in [c.code for c in leaked]
    assert "R07.1" not in [c.code for c in apart] and apart
