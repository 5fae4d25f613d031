"""The rules package against the real knowledge base: the same-category rule in validation,
code-first notes classified as mandatory pairs or conditional notes, and commit problems
classified as blockers or warnings, each citing its guideline."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from agent.models import Chart, ChartMeta, Dropped, Proposal, RawProposal, Span, System
from agent.rules import Problem, commit_problems, requirements, validate_proposals
from agent.rules.notes import excludes1_conflicts, excludes1_with
from retrieval.store import KnowledgeStore

TEXT = (
    "Type 1 diabetes mellitus with diabetic nephropathy; an old note says type 1 diabetes "
    "without complications. Hypertensive heart disease with heart failure. "
    "Fracture of the neck of the right femur and of the left femur after a fall. "
    "Known moderate persistent asthma with acute exacerbation, on a history of mild intermittent "
    "asthma; alcohol dependence with withdrawal. Acute on chronic diastolic heart failure. "
    "Second degree burn of right palm. Type 2 diabetes with peripheral neuropathy. "
    "Acute perforated appendicitis with generalized peritonitis; anemia in chronic kidney "
    "disease; pneumonia due to COVID-19. Concussion without loss of consciousness; head injury. "
    "Kidney stone with hydronephrosis."
)


def raw(code: str, evidence: str, confidence: float = 0.8) -> RawProposal:
    at = TEXT.index(evidence)
    span = Span(start=at, end=at + len(evidence), quote=evidence)
    return RawProposal(code=code, evidence=[span], confidence=confidence)


def run(store: KnowledgeStore, proposals: list[RawProposal]) -> tuple[list[str], list[Dropped]]:
    kept: list[Proposal]
    kept, dropped = validate_proposals(
        proposals,
        chart=Chart(text=TEXT, meta=ChartMeta(setting="inpatient")),
        store=store,
        proposer="test",
        kb_release="ICD-10-CM FY2026",
    )
    return [p.code for p in kept], dropped


@dataclass(frozen=True)
class Final:
    code: str
    principal: bool = False
    system: System = "cm"


def problems(store: KnowledgeStore, *codes: Final) -> list[Problem]:
    return commit_problems(codes, setting="inpatient", store=store, kb_release="ICD-10-CM FY2026")


def by_code(found: list[Problem], code: str) -> list[Problem]:
    return [p for p in found if p.codes and p.codes[0] == code]


# --- Same category: an unspecified code beside a more specific one ----------------------------


@pytest.mark.parametrize("unspecified_confidence", [0.5, 0.95])
def test_the_unspecified_code_of_a_category_is_dropped_beside_a_specific_one(
    store: KnowledgeStore, unspecified_confidence: float
) -> None:
    kept, dropped = run(
        store,
        [
            raw("E10.9", "type 1 diabetes without complications", unspecified_confidence),
            raw("E10.21", "Type 1 diabetes mellitus with diabetic nephropathy"),
            raw("I11.9", "Hypertensive heart disease", unspecified_confidence),
            raw("I11.0", "Hypertensive heart disease with heart failure"),
        ],
    )
    assert sorted(kept) == ["E10.21", "I11.0"]
    reasons = {d.code: d.reason for d in dropped}
    assert set(reasons) == {"E10.9", "I11.9"}
    assert "E10.21" in reasons["E10.9"] and "I11.0" in reasons["I11.9"]
    assert reasons["E10.9"].endswith("(ICD-10-CM Official Guidelines I.A.9.b, I.B.18)")


def test_an_uncomplicated_code_is_dropped_beside_its_complicated_sibling(
    store: KnowledgeStore,
) -> None:
    kept, dropped = run(
        store,
        [
            raw("J45.40", "moderate persistent asthma"),
            raw("J45.41", "moderate persistent asthma with acute exacerbation"),
            raw("F10.20", "alcohol dependence"),
            raw("F10.239", "alcohol dependence with withdrawal"),
            raw("J45.20", "mild intermittent asthma"),
        ],
    )
    # J45.20 is another kind of asthma than J45.41's: it stays.
    assert sorted(kept) == ["F10.239", "J45.20", "J45.41"]
    reasons = {d.code: d.reason for d in dropped}
    assert "J45.41" in reasons["J45.40"] and "F10.239" in reasons["F10.20"]


def test_acute_or_chronic_goes_beside_its_acute_on_chronic_code(store: KnowledgeStore) -> None:
    kept, dropped = run(
        store,
        [
            raw("I50.33", "Acute on chronic diastolic heart failure"),
            raw("I50.32", "chronic diastolic heart failure"),
            raw("I50.31", "Acute on chronic diastolic heart failure"),
            raw("I50.22", "heart failure"),
        ],
    )
    # I50.22 (chronic systolic) is another condition: it stays.
    assert sorted(kept) == ["I50.22", "I50.33"]
    reasons = {d.code: d.reason for d in dropped}
    assert set(reasons) == {"I50.31", "I50.32"} and "I50.33" in reasons["I50.32"]
    assert reasons["I50.31"].endswith("(ICD-10-CM Official Guidelines I.B.8, I.B.9)")


def test_a_burn_of_unspecified_region_goes_beside_a_burn_of_a_named_site(
    store: KnowledgeStore,
) -> None:
    kept, dropped = run(
        store, [raw("T30.0", "burn"), raw("T23.251A", "Second degree burn of right palm")]
    )
    assert kept == ["T23.251A"] and dropped[0].code == "T30.0"
    assert "names the site" in dropped[0].reason
    kept, _ = run(store, [raw("T30.0", "burn")])
    assert kept == ["T30.0"]


def test_an_unspecified_code_goes_beside_a_kind_of_it(store: KnowledgeStore) -> None:
    # E11.40 "with diabetic neuropathy, unspecified" beside E11.42 "with diabetic
    # polyneuropathy": a polyneuropathy is a neuropathy of a named kind.
    evidence = "Type 2 diabetes with peripheral neuropathy"
    kept, dropped = run(store, [raw("E11.40", evidence), raw("E11.42", evidence)])
    assert kept == ["E11.42"] and dropped[0].code == "E11.40"


def test_a_conditions_own_unspecified_code_goes_beside_a_kind_of_it_in_another_category(
    store: KnowledgeStore,
) -> None:
    # K37 "Unspecified appendicitis" beside K35.201; D64.9 "Anemia, unspecified" beside D63.1.
    kept, dropped = run(
        store,
        [
            raw("K35.201", "Acute perforated appendicitis with generalized peritonitis"),
            raw("K37", "appendicitis"),
            raw("D63.1", "anemia in chronic kidney"),
            raw("D64.9", "anemia"),
        ],
    )
    assert sorted(d.code for d in dropped) == ["D64.9", "K37"]
    assert sorted(kept) == ["D63.1", "K35.201"]


@pytest.mark.parametrize(
    ("unspecified", "named"),
    [("J18.9", "J13"), ("J18.9", "J12.82"), ("J18.9", "J15.212"), ("A41.9", "A41.51")],
)
def test_the_unspecified_organism_code_goes_beside_the_named_organism(
    store: KnowledgeStore, unspecified: str, named: str
) -> None:
    # The same pneumonia or sepsis documented once with and once without its organism.
    kept, dropped = run(store, [raw(unspecified, "pneumonia"), raw(named, "pneumonia due to")])
    assert kept == [named] and [d.code for d in dropped] == [unspecified]
    assert named in dropped[0].reason and "I.A.9.b" in dropped[0].reason


def test_an_unspecified_organism_code_stays_beside_other_conditions(store: KnowledgeStore) -> None:
    # J18.0 says bronchopneumonia and J18.8 other pneumonia, which J13's and J15.29's titles
    # do not; J44.0 (COPD with lower respiratory infection) and J10.08 (influenza with other
    # specified pneumonia) ask for the infection's own code; N39.0 is another condition.
    pairs = [("J18.0", "J13"), ("J18.8", "J15.29"), ("J18.8", "J10.08"), ("J18.9", "J44.0")]
    for pair in [*pairs, ("A41.9", "N39.0")]:
        kept, dropped = run(store, [raw(pair[0], "pneumonia"), raw(pair[1], "pneumonia due to")])
        assert sorted(kept) == sorted(pair) and dropped == [], pair


def test_the_nos_code_of_an_excludes1_pair_goes_however_sure(store: KnowledgeStore) -> None:
    # "S06 Excludes1: head injury NOS (S09.90)": the concussion stays though less confident.
    kept, dropped = run(
        store,
        [
            raw("S09.90XA", "head injury", confidence=0.9),
            raw("S06.0X0A", "Concussion without loss of consciousness", confidence=0.6),
        ],
    )
    assert kept == ["S06.0X0A"] and [d.code for d in dropped] == ["S09.90XA"]
    assert "NOS" in dropped[0].reason and "I.A.12.a" in dropped[0].reason


def test_the_combination_code_an_excludes1_note_names_stays(store: KnowledgeStore) -> None:
    # "N20 Excludes1: that with hydronephrosis (N13.2)": the calculus with hydronephrosis is
    # N13.2 alone, however sure the calculus code was.
    kept, dropped = run(
        store,
        [
            raw("N20.0", "Kidney stone", confidence=0.9),
            raw("N13.2", "Kidney stone with hydronephrosis", confidence=0.5),
        ],
    )
    assert kept == ["N13.2"] and [d.code for d in dropped] == ["N20.0"]
    assert "combination code" in dropped[0].reason


def test_a_code_that_wins_one_excludes1_pair_is_checked_against_every_kept_code(
    store: KnowledgeStore,
) -> None:
    # R10.0 is the combination code of R10.84's note, so it beats R10.84; but R10.0's own
    # note excludes localized pain (R10.1-R10.3) and R10.13 was more certain: R10.0 goes.
    ranked = ["R10.84", "R10.13", "R10.0"]
    notes = {code: store.notes_with_inherited(code) for code in ranked}
    dropped = excludes1_conflicts(ranked, notes)
    assert sorted(dropped) == ["R10.0"]
    kept = [code for code in ranked if code not in dropped]
    assert all(excludes1_with(a, b, notes) is None for a in kept for b in kept if a != b), kept


def test_distinct_codes_of_one_category_both_stay(store: KnowledgeStore) -> None:
    # Both titles say "unspecified part of neck", but of the right and of the left femur.
    kept, dropped = run(
        store,
        [
            raw("S72.001A", "Fracture of the neck of the right femur"),
            raw("S72.002A", "the left femur"),
        ],
    )
    assert sorted(kept) == ["S72.001A", "S72.002A"] and dropped == []


def test_same_category_is_a_warning_at_commit(store: KnowledgeStore) -> None:
    found = problems(store, Final("E10.21", principal=True), Final("E10.9"))
    [same] = by_code(found, "E10.9")
    assert same.severity == "warning" and same.rule == "I.A.9.b+I.B.18"
    assert same.codes == ("E10.9", "E10.21")
    assert not [p for p in found if p.severity == "blocker"]


# --- Code-first notes: mandatory pairs and conditional notes ----------------------------------


def test_follow_up_notes_of_history_codes_are_conditional(store: KnowledgeStore) -> None:
    for code, follow_up in (("Z85.46", "Z08"), ("Z87.891", "Z09")):
        record = store.get(code, "cm")
        assert record is not None
        [note] = [r for r in requirements(record, {code: store.notes_with_inherited(code)})]
        assert note.strength == "conditional" and note.follow_up
        assert [r.text for r in note.refs] == [follow_up]
        assert "I.C.21.c.8" in note.message()


def test_such_as_is_satisfied_by_any_underlying_condition(store: KnowledgeStore) -> None:
    # J91.8 "code first underlying disease, such as: filariasis, influenza": heart failure
    # satisfies it although the note does not name it.
    found = problems(store, Final("I50.23", principal=True), Final("J91.8"))
    assert by_code(found, "J91.8") == []
    # A symptom, a Z code or another manifestation is no underlying condition.
    alone = problems(
        store, Final("R06.02", principal=True), Final("J91.8"), Final("Z87.891"), Final("G63")
    )
    [blocker] = by_code(alone, "J91.8")
    assert blocker.severity == "blocker" and blocker.rule == "I.A.13"
    assert blocker.message.endswith("(ICD-10-CM Official Guidelines I.A.13)")
    assert "any underlying condition" in blocker.message


def test_a_note_naming_codes_without_such_as_takes_only_those(store: KnowledgeStore) -> None:
    # D63.1 "Anemia in chronic kidney disease": code first underlying CKD (N18.-).
    diabetes = problems(store, Final("E11.9", principal=True), Final("D63.1"))
    assert [p.severity for p in by_code(diabetes, "D63.1")] == ["blocker"]
    ckd = problems(store, Final("N18.31", principal=True), Final("D63.1"))
    assert by_code(ckd, "D63.1") == []


def test_commit_blockers_are_classified_and_cite_their_guideline(store: KnowledgeStore) -> None:
    found = problems(store, Final("E10.9"), Final("E11.9"), Final("E11.99"))
    rules = {p.rule: p for p in found}
    excludes1 = rules["I.A.12.a"]
    assert excludes1.severity == "blocker" and excludes1.overridable
    assert set(excludes1.codes) == {"E10.9", "E11.9"}
    assert "(ICD-10-CM Official Guidelines I.A.12.a)" in excludes1.message
    invalid = rules["I.A.3"]
    assert invalid.codes == ("E11.99",) and not invalid.overridable
    assert rules["II"].message.startswith("principal diagnosis missing")
    assert found == sorted(found, key=lambda p: p.severity != "blocker")
