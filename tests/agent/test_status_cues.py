"""Status cues (medications, devices, tobacco, BMI, gestation, encounter reasons) and the
companion rules that keep their codes beside what they qualify. No knowledge base needed."""

from __future__ import annotations

import pytest

from agent.chart import build_chart
from agent.cues import cue_code, cue_mentions, find_cues
from agent.mentions import span_flags
from agent.models import Chart, ChartMeta, Mention, RawProposal, Sentence, Span
from agent.proposers.offline import _lone_diagnosis, _stated_principal, principal_choice
from agent.ranker import CodeFinding
from agent.ranker.features import _merge_flags
from agent.rules import companions
from agent.rules.sequencing import Ranked, sequence
from retrieval.store import KnowledgeStore


def _chart(text: str, **meta: object) -> Chart:
    return build_chart(text, ChartMeta.model_validate(meta))


def _codes(text: str, **meta: object) -> list[str]:
    chart = _chart(text, **meta)
    return [found.code for s in chart.sentences for found in find_cues(chart, s)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Meds: metformin 1000 mg BID, insulin glargine 20 units nightly.", ["Z79.4", "Z79.84"]),
        ("On Eliquis 5 mg twice daily for atrial fibrillation.", ["Z79.01"]),
        ("Social history: former smoker, quit 2010.", ["Z87.891"]),
        ("Social history: smokes 1 ppd for 30 years.", ["F17.210"]),
        ("PMH: CAD s/p CABG x3 in 2019.", ["Z95.1"]),
        ("PSH: s/p L TKA 2018.", ["Z96.652"]),
        ("PSH: status post bilateral total knee arthroplasty.", ["Z96.653"]),
        ("ESRD on HD MWF via left arm fistula.", ["Z99.2"]),
        ("Assessment: class 3 obesity, BMI 42.3.", ["Z68.41"]),
        ("BMI: 27.8", ["Z68.27"]),
    ],
)
def test_cues_read_the_code_a_coder_would(text: str, expected: list[str]) -> None:
    assert sorted(set(_codes(text, setting="outpatient", age=60, sex="F"))) == sorted(expected)


@pytest.mark.parametrize(
    "text",
    [
        "Warfarin was stopped after the bleed.",
        "Completed 6 months of apixaban, none since.",
        "Start metformin 500 mg daily.",
        "Never smoker.",
        "Sliding scale insulin while inpatient.",
        "Plan: total knee arthroplasty scheduled for March.",
    ],
)
def test_cues_that_are_not_current_long_term_facts_code_nothing(text: str) -> None:
    chart = _chart(f"Plan:\n{text}\n", setting="outpatient", age=60)
    codes = [found.code for s in chart.sentences for found in find_cues(chart, s)]
    mentions = cue_mentions(chart, lambda a, b: set(span_flags(chart, a, b)))
    # Either no cue, or a cue the chart's own context negates.
    assert not codes or all(m.negated for m in mentions), (text, codes)


def test_weeks_of_gestation_only_for_a_pregnancy_and_not_a_duration() -> None:
    assert _codes("G2P1 at 32 weeks gestation, doing well.", sex="F", age=29) == ["Z3A.32"]
    assert _codes("Pregnant, 34 weeks by LMP.", sex="F", age=30) == ["Z3A.34"]
    assert _codes("Cough for 3 weeks; she is not pregnant.", sex="F", age=30) == []
    assert _codes("Knee pain for 6 weeks.", sex="F", age=30) == []


def test_pediatric_bmi_is_a_percentile_not_read_here() -> None:
    assert _codes("BMI 31.0", age=12) == []


def test_encounter_cues_are_outpatient_and_children_get_their_own_exam_code() -> None:
    assert _codes("Here for annual physical.", setting="outpatient", age=45) == ["Z00.00"]
    assert _codes("Here for annual physical.", setting="outpatient", age=8) == ["Z00.129"]
    assert _codes("Here for annual physical.", setting="inpatient", age=45) == []
    assert _codes("Here for cycle 3 of FOLFOX chemotherapy.", setting="outpatient") == ["Z51.11"]
    assert _codes("Completed cycle 6 of FOLFOX in May.", setting="outpatient") == []
    # The last cycle, days ago, is not this encounter's chemotherapy.
    assert _codes("On gemcitabine, C2D8 3 days ago.", setting="inpatient") == []
    assert _codes("C3D1 of FOLFOX today.", setting="inpatient") == ["Z51.11"]
    follow_up = "Follow-up examination after completed treatment for colon cancer."
    assert _codes(follow_up, setting="outpatient") == ["Z08"]
    assert _codes("Follow-up of the cough after treatment.", setting="outpatient") == []


def test_a_cue_mention_keeps_negation_and_never_history() -> None:
    chart = _chart(
        "Social history: former smoker. Denies alcohol.\nNo anticoagulants currently.\n",
        setting="outpatient",
    )
    mentions = cue_mentions(chart, lambda a, b: set(span_flags(chart, a, b)))
    by_text = {m.text.lower(): m for m in mentions}
    assert not by_text["former smoker"].historical and not by_text["former smoker"].negated
    assert by_text["anticoagulants"].negated
    found = cue_code(chart, by_text["former smoker"])
    assert found is not None and found[1] == "Z87.891"


def _raw(*codes: str) -> list[RawProposal]:
    span = Span(start=0, end=1, quote="x")
    return [RawProposal(code=c, evidence=[span]) for c in codes]


def test_companion_codes_go_without_what_they_qualify() -> None:
    kept, dropped = companions(_raw("J45.909", "Z68.41", "Z3A.32"), proposer="offline")
    assert [p.code for p in kept] == ["J45.909"]
    assert {d.code for d in dropped} == {"Z68.41", "Z3A.32"}
    assert all("ICD-10-CM Official Guidelines" in d.reason for d in dropped)
    kept, _ = companions(_raw("E66.01", "Z68.41", "O24.410", "Z3A.32"), proposer="offline")
    assert [p.code for p in kept] == ["E66.01", "Z68.41", "O24.410", "Z3A.32"]
    # Alone, a dependent code stays for the coder to see (sequencing warns it cannot be first).
    kept, dropped = companions(_raw("W11.XXXA"), proposer="offline")
    assert [p.code for p in kept] == ["W11.XXXA"] and not dropped


def test_insulin_use_is_not_added_to_type_1_or_insulin_controlled_gestational_diabetes() -> None:
    for partner in ("E10.9", "O24.414"):
        kept, dropped = companions(_raw(partner, "Z79.4"), proposer="offline")
        assert [p.code for p in kept] == [partner] and dropped[0].code == "Z79.4"
    kept, _ = companions(_raw("E11.9", "Z79.4"), proposer="offline")
    assert [p.code for p in kept] == ["E11.9", "Z79.4"]


def test_an_examination_that_found_something_is_with_abnormal_findings() -> None:
    kept, _ = companions(_raw("Z00.00", "Z23"), proposer="offline")
    assert [p.code for p in kept] == ["Z00.00", "Z23"]
    kept, _ = companions(_raw("Z00.00", "R03.0"), proposer="offline")
    assert [p.code for p in kept] == ["Z00.01", "R03.0"]
    assert "abnormal findings" in kept[0].rationale


def test_the_reason_for_a_service_encounter_is_first_listed() -> None:
    items = [
        Ranked("C34.11", "cm", 0.9, False, None, 0),
        Ranked("Z51.11", "cm", 0.6, False, None, 1),
        Ranked("Z79.84", "cm", 0.95, False, None, 2),
    ]
    order, _ = sequence(items, set(), "first-listed")
    assert order[0] == "Z51.11"  # before the more confident neoplasm and status codes
    order, _ = sequence(items[:1] + items[2:], set(), "first-listed")
    assert order[0] == "C34.11"  # a status code is never first over a diagnosis


def _finding(code: str, mention: int) -> CodeFinding:
    return CodeFinding(code, "cm", code, mentions=[mention], best_mention=mention)


def test_the_offline_proposer_asks_for_the_encounter_reason_or_sepsis_first() -> None:
    """The proposer's principal: a screening encounter's Z12 code before the diagnosis the
    physician listed first, sepsis before its localized infection, a diagnosis before a
    status code."""
    span = Span(start=0, end=1, quote="x")
    listed = [Mention(text="x", span=span, kind="condition", section="diagnoses")] * 3
    screening = [_finding("C50.919", 0), _finding("Z12.31", 1), _finding("Z80.3", 2)]
    assert principal_choice(screening, listed) == "Z12.31"
    sepsis = [_finding("J15.212", 0), _finding("A41.02", 1), _finding("R65.21", 2)]
    assert principal_choice(sepsis, listed) == "A41.02"
    status = [_finding("Z79.01", 0), _finding("I48.91", 1)]
    assert principal_choice(status, listed) == "I48.91"
    burns = [_finding("T31.0", 0), _finding("T23.251A", 1)]
    assert principal_choice(burns, listed) == "T23.251A"


def test_the_nature_of_an_adverse_effect_comes_before_the_condition_treated() -> None:
    """ "Somnolence due to adverse effect of lorazepam. Anxiety disorder.": the symptom is
    the nature of the effect and is sequenced first (I.C.19.e.5.a); the drug code never is.
    Without the adverse effect in its sentence, the diagnosis goes before the symptom."""
    text = "Assessment: somnolence due to adverse effect of lorazepam. Anxiety disorder."
    sentences = [
        Sentence(start=0, end=58, section="assessment"),
        Sentence(start=59, end=len(text), section="assessment"),
    ]

    def mention(words: str) -> Mention:
        at = text.index(words)
        span = Span(start=at, end=at + len(words), quote=words)
        return Mention(text=words, span=span, kind="condition", section="assessment")

    mentions = [
        mention("somnolence"),
        mention("Anxiety disorder"),
        mention("adverse effect of lorazepam"),
    ]
    found = [_finding("F41.9", 1), _finding("T42.4X5A", 2), _finding("R40.0", 0)]
    assert principal_choice(found, mentions, sentences) == "R40.0"
    assert principal_choice(found[::2], mentions, sentences) == "F41.9"


def test_a_relatives_condition_beside_a_screening_for_it_is_a_family_history() -> None:
    """Flags of two mentions of one code: a plain one makes it present; a relative's one
    beside a negated one ("screening for prostate cancer") is the relative's."""
    finding = _finding("C61", 0)
    finding.evidence = [Span(start=0, end=1, quote="x"), Span(start=2, end=3, quote="y")]
    finding.flags = {"family"}
    assert _merge_flags(finding, {"negated"}) == {"family"}
    assert _merge_flags(finding, set()) == set()
    finding.flags = {"negated", "family"}
    assert _merge_flags(finding, {"negated"}) == {"negated"}
    # "Admitted to r/o sepsis ... sepsis ruled out": the negation settles it.
    finding.flags = {"uncertain"}
    assert _merge_flags(finding, {"negated"}) == {"negated"}
    assert _merge_flags(finding, {"historical"}) == {"historical"}


def test_a_chart_with_only_a_status_code_kept_gets_its_documented_diagnosis() -> None:
    """The tetanus shot (Z23) alone says nothing of the dog bite: the bite below the cut-off
    is proposed when the ranker gives it at least half the cut-off; nothing that weak is."""
    z23, bite, pain = _finding("Z23", 0), _finding("S51.851A", 1), _finding("R52", 2)
    weighed = [(z23, 0.4), (bite, 0.2), (pain, 0.1)]
    assert _lone_diagnosis(weighed, weighed[:1], lambda system: 0.3) == (bite, 0.2)
    assert _lone_diagnosis(weighed, weighed[:1], lambda system: 0.5) is None
    # With a diagnosis kept, nothing is added; with nothing kept, the best present code.
    assert _lone_diagnosis(weighed, weighed[1:2], lambda system: 0.1) is None
    assert _lone_diagnosis([(pain, 0.2)], [], lambda system: 0.3) == (pain, 0.2)


def test_the_diagnosis_the_physician_states_first_is_shown_below_the_cut_off() -> None:
    """The discharge diagnoses open with sepsis, which the ranker scored under the cut-off
    while the UTI passed: sepsis, sequenced first (I.C.1.d.4), is proposed for a check.
    Not when it is below half the cut-off, nor a code of a kept code's category, nor a
    diagnosis the narrative mentions but no diagnostic statement does."""
    text = "Fever and flank pain.\nDischarge diagnoses: sepsis due to urinary tract infection."
    chart = _chart(text, setting="inpatient")
    assert any(s.section == "diagnoses" for s in chart.sentences)

    def mention(words: str) -> Mention:
        at = text.index(words)
        span = Span(start=at, end=at + len(words), quote=words)
        section = next(s.section for s in chart.sentences if s.start <= at < s.end)
        return Mention(text=words, span=span, kind="condition", section=section)

    mentions = [mention("sepsis"), mention("urinary tract infection"), mention("flank pain")]
    uti, sepsis = _finding("N39.0", 1), _finding("A41.9", 0)
    other_uti, pain = _finding("N39.9", 1), _finding("R10.9", 2)
    weighed = [(uti, 0.8), (sepsis, 0.3), (other_uti, 0.3), (pain, 0.3)]
    kept = weighed[:1]
    assert _stated_principal(weighed, kept, lambda system: 0.4, mentions, chart) == (sepsis, 0.3)
    assert _stated_principal(weighed, kept, lambda system: 0.7, mentions, chart) is None
    narrative = [(uti, 0.8), (other_uti, 0.3), (pain, 0.3)]
    assert _stated_principal(narrative, kept, lambda system: 0.4, mentions, chart) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Slipped on an icy sidewalk and fell onto her outstretched hand.", "W00.0XXA"),
        ("Fell off a step ladder while cleaning gutters.", "W11.XXXA"),
        ("Tripped over the cat and fell.", "W01.0XXA"),
        ("Fell down the stairs at home.", "W10.9XXA"),
        ("Bitten by the neighbor's dog on the left forearm.", "W54.0XXA"),
        ("Restrained driver, rear-ended by another car on the highway.", "V43.52XA"),
        ("Collided with an opposing player during the game and fell.", "W03.XXXA"),
        ("Tackled in a football game, fell on his shoulder.", "W03.XXXA"),
        ("Ran into another player going for the ball; no fall.", "W51.XXXA"),
    ],
)
def test_external_cause_cues(text: str, expected: str) -> None:
    assert expected in _codes(text, setting="outpatient", age=40)


def test_a_collision_without_a_fall_is_no_fall() -> None:
    assert "W03.XXXA" not in _codes("Ran into another player, no fall.", setting="outpatient")


def test_external_causes_need_an_injury_and_take_its_seventh_character(
    store: KnowledgeStore,
) -> None:
    chart = _chart("Seen for headache after lifting boxes.", setting="outpatient")
    kept, dropped = companions(_raw("R51.9", "X50.0XXA"), proposer="o", chart=chart, store=store)
    assert [p.code for p in kept] == ["R51.9"] and dropped[0].code == "X50.0XXA"
    later = _chart(
        "Returns for follow-up of the right distal radius fracture; routine healing on x-ray.\n"
        "She slipped on ice four weeks ago.",
        setting="outpatient",
    )
    kept, _ = companions(_raw("S52.501A", "W00.0XXA"), proposer="o", chart=later, store=store)
    assert [p.code for p in kept] == ["S52.501D", "W00.0XXD"]
    assert "7th character D" in kept[0].rationale
    assert kept[0].citations == [] or kept[0].citations[0].source_id == "tabular:S52.501D"
    # The same codes in an emergency visit stay initial encounters.
    first = _chart("ED visit: slipped on ice today, right wrist deformity.", setting="outpatient")
    kept, _ = companions(_raw("S52.501A", "W00.0XXA"), proposer="o", chart=first, store=store)
    assert [p.code for p in kept] == ["S52.501A", "W00.0XXA"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Second degree burn of right palm from hot oil, ~1% TBSA.", "T31.0"),
        ("Scald burns of chest and abdomen, total 14 percent of body surface area.", "T31.10"),
        ("Flame burns of both legs and trunk, total 35% TBSA with 22% full thickness.", "T31.32"),
    ],
)
def test_the_extent_of_a_burn_is_its_t31_code(text: str, expected: str) -> None:
    assert expected in _codes(text, setting="inpatient", age=40)


def test_a_body_surface_percentage_without_a_burn_is_no_t31_code() -> None:
    codes = _codes("Psoriasis plaques on elbows and knees, about 5% BSA.", setting="outpatient")
    assert not any(code.startswith("T31") for code in codes)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PCN allergy.", ["Z88.0"]),
        ("Patient is allergic to amoxicillin (rash) and peanuts.", ["Z88.0", "Z91.010"]),
        ("Allergies: sulfa, codeine, latex.", ["Z88.2", "Z88.5", "Z91.040"]),
        ("ALLERGIES: NKDA.", []),
        ("Allergic rhinitis due to pollen.", []),
        # A bare drug name is an allergy on the allergy list only.
        ("Meds: aspirin 81 mg daily.", []),
    ],
)
def test_allergy_status_cues(text: str, expected: list[str]) -> None:
    assert sorted(c for c in _codes(text, setting="outpatient") if c[:3] in {"Z88", "Z91"}) == (
        expected
    )


def test_a_denied_allergy_is_a_negated_status() -> None:
    chart = _chart("Denies penicillin allergy.", setting="outpatient")
    mentions = cue_mentions(chart, lambda start, end: set(span_flags(chart, start, end)))
    assert [(m.kind, m.negated) for m in mentions] == [("status", True)]


def test_a_prosthesis_or_stent_put_in_this_stay_is_not_a_status() -> None:
    done = (
        "Admitted for elective R total knee arthroplasty. PMH: L TKA 2019.\n"
        "Procedure HD1: R total knee arthroplasty, cemented.\n"
        "Discharge diagnoses: primary OA R knee, s/p R TKA. Remote s/p L TKA, doing well."
    )
    assert [c for c in _codes(done, setting="inpatient") if c.startswith("Z96")] == ["Z96.652"]
    stent = "PCI: one drug-eluting stent to the LAD.\nDischarge diagnoses: STEMI, s/p DES."
    assert "Z95.5" not in _codes(stent, setting="inpatient")
    before = "PMH: CAD s/p DES to LAD in 2018. No PCI this admission. Dx: chest pain."
    assert "Z95.5" in _codes(before, setting="inpatient")
    # Outside a stay nothing is put in: the status stands.
    assert "Z96.651" in _codes("Follow-up visit, s/p R TKA.", setting="outpatient")


def test_a_past_history_list_names_old_joint_replacements_without_s_p() -> None:
    text = "PMH: HTN, GERD, L TKA 2019 doing well, R THA.\nAssessment: HTN."
    codes = _codes(text, setting="outpatient")
    assert "Z96.652" in codes and "Z96.641" in codes
    # Outside the past history a bare "TKA" is this visit's business, not a status.
    assert not [c for c in _codes("Plan: R TKA next month.", setting="outpatient")
                if c.startswith("Z96")]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "allergy"),
    [
        # A long sentence after "allergic to": found at once (it once took ~185 ms).
        (
            "Patient allergic to penicillin and with aortic valve replacement in 2004 with "
            "mechanical prosthesis, on acenocoumarol, hypertension, dyslipidemia, type 2 "
            "diabetes mellitus and chronic renal failure.",
            "Z88.0",
        ),
        ("Allergies: sulfa (rash), latex, PCN (hives).", "Z88.0"),
        ("Allergic to codeine, morphine and shellfish.", "Z91.013"),
    ],
)
def test_allergy_lists_are_read_item_by_item(text: str, allergy: str) -> None:
    chart = build_chart(text, ChartMeta(setting="inpatient"))
    codes = [found.code for s in chart.sentences for found in find_cues(chart, s)]
    assert allergy in codes
