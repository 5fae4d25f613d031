"""The gate between a proposer and the coder: only valid, billable, evidenced codes pass.

Every rule either drops a proposal (with the reason the coder sees in `dropped`) or adds a
warning to it; nothing a proposer says is trusted: codes, offsets and citations are all
checked against the chart text and the loaded knowledge base.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from agent.citations import resolvable_citations, verify_span
from agent.models import (
    Chart,
    Citation,
    Dropped,
    Policy,
    Proposal,
    RawProposal,
    Setting,
    Span,
    System,
)
from agent.rules.code_first import beside, unmet
from agent.rules.codes import code_problem, code_set_name, resolve_code
from agent.rules.guidelines import DOCUMENTATION, cite
from agent.rules.integral import integral_symptoms
from agent.rules.mce import mce_conflicts
from agent.rules.notes import Notes, excludes1_conflicts, must_precede
from agent.rules.same_category import category_default_conflicts, same_category_conflicts
from agent.rules.sequencing import Ranked, principal_blocker, sequence
from retrieval.records import CodeRecord
from retrieval.store import KnowledgeStore


@dataclass
class _Draft:
    """One distinct code on its way through the rules (duplicates already merged)."""

    code: str
    system: System
    best: RawProposal  # the most confident of the duplicates: its rationale is kept
    evidence: list[Span]
    citations: list[Citation]
    asked_principal: bool
    order: int
    record: CodeRecord | None = None
    mce: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def validate_proposals(
    raw: list[RawProposal],
    *,
    chart: Chart,
    store: KnowledgeStore,
    proposer: str,
    kb_release: str,
    model: str | None = None,
    prompt_version: str | None = None,
    policy: Policy = "claims",
) -> tuple[list[Proposal], list[Dropped]]:
    """Proposals that passed every rule, in sequence order, and those dropped with why.

    Under the `mentions` policy two codes that a claim may not carry together (Excludes1, an
    unspecified code beside a specific one) are both kept, each with a warning: the set
    records every concept mentioned, not a claim."""
    dropped: list[Dropped] = []
    accepted: list[_Draft] = []
    for draft in merge_duplicates(raw, store):
        reason = _first_problem(draft, chart, store, kb_release)
        if reason is None:
            accepted.append(draft)
        else:
            dropped.append(
                Dropped(code=draft.code or draft.best.code, reason=reason, proposer=proposer)
            )
    for conflicts in (_same_category, _integral, _excludes1, _one_procedure):
        found = conflicts(accepted, store)
        if policy == "mentions":
            for draft in accepted:
                if draft.code in found:
                    draft.warnings.append(f"a claim would drop it: {found[draft.code]}")
            continue
        dropped += [
            Dropped(code=d.code, reason=found[d.code], proposer=proposer)
            for d in accepted
            if d.code in found
        ]
        _pass_principal_on(accepted, found)
        accepted = [d for d in accepted if d.code not in found]
    notes: Notes = {
        d.code: store.notes_with_inherited(d.code) for d in accepted if d.system == "cm"
    }
    _note_warnings(accepted, notes)
    ordered = _sequenced(accepted, notes, chart.meta.setting)
    proposals = [
        _proposal(draft, number, store, proposer, kb_release, model, prompt_version)
        for number, draft in enumerate(ordered, start=1)
    ]
    return proposals, dropped


def _pass_principal_on(drafts: list[_Draft], dropped: dict[str, str]) -> None:
    """A principal asked for a dropped code goes to the kept code of its category that
    replaced it (E11.9 dropped beside E11.42: E11.42 is what the proposer meant first)."""
    for draft in drafts:
        if draft.code not in dropped or not draft.asked_principal:
            continue
        kept = [d for d in drafts if d.code not in dropped and d.system == draft.system]
        if any(d.asked_principal for d in kept):
            continue
        heirs = [d for d in kept if d.code[:3] == draft.code[:3]]
        if heirs:
            max(heirs, key=lambda d: d.best.confidence).asked_principal = True


def merge_duplicates(raw: Sequence[RawProposal], store: KnowledgeStore) -> list[_Draft]:
    """One draft per normalised code: the highest confidence wins, evidence and citations
    are pooled, and the code is principal if any duplicate asked for it."""
    drafts: dict[tuple[str, System], _Draft] = {}
    for order, proposal in enumerate(raw):
        code, system = resolve_code(proposal.code, store)
        draft = drafts.get((code, system))
        if draft is None:
            drafts[(code, system)] = _Draft(
                code,
                system,
                proposal,
                list(proposal.evidence),
                list(proposal.citations),
                proposal.principal,
                order,
            )
            continue
        if proposal.confidence > draft.best.confidence:
            draft.best = proposal
        draft.evidence += [e for e in proposal.evidence if e not in draft.evidence]
        draft.citations += proposal.citations
        draft.asked_principal = draft.asked_principal or proposal.principal
    return list(drafts.values())


def _first_problem(draft: _Draft, chart: Chart, store: KnowledgeStore, release: str) -> str | None:
    """The reason to drop the draft (invalid code, no evidence, MCE conflict), filling in
    its record, verified evidence, MCE edits and warnings on the way."""
    label = code_set_name(draft.system, release, store.year)
    problem = code_problem(draft.code, draft.system, store, label)
    if problem is not None:
        return problem
    draft.record = store.get(draft.code, draft.system)
    problem = evidence_problem(draft, chart.text) or directed_problem(draft, chart)
    if problem is not None:
        return problem
    findings = mce_conflicts(draft.code, draft.system, chart.meta, store)
    draft.mce = findings.edits
    draft.warnings += findings.warnings
    return findings.drop


def directed_problem(draft: _Draft, chart: Chart) -> str | None:
    """Evidence inside a sentence addressed to the software (an instruction, not
    documentation) does not count; a code with no other evidence is dropped."""
    if not chart.directed:
        return None

    def directed(span: Span) -> bool:
        return any(d.start <= span.start and span.end <= d.end for d in chart.directed)

    kept = [span for span in draft.evidence if not directed(span)]
    if not kept:
        return (
            "its only evidence is text addressed to the software (an instruction or a code "
            "list), not documentation about the patient"
        )
    if len(kept) < len(draft.evidence):
        draft.warnings.append("evidence inside text addressed to the software was removed")
        draft.evidence = kept
    return None


def evidence_problem(draft: _Draft, chart_text: str) -> str | None:
    """Keep the evidence found in the chart (offsets corrected); none found drops the code."""
    given, missing = len(draft.evidence), 0
    verified: list[Span] = []
    for span in draft.evidence:
        found = verify_span(chart_text, span)
        missing += found is None
        if found is not None and found not in verified:
            verified.append(found)
    if not verified:
        basis = f"a code rests on the provider's documentation {cite(DOCUMENTATION)}"
        if not given:
            return f"no evidence in the chart: the proposal quotes no text; {basis}"
        return (
            f"no evidence in the chart: none of its {given} quote(s) is in the chart text; {basis}"
        )
    if missing:
        draft.warnings.append(
            f"{missing} of {given} evidence quote(s) are not in the chart text; removed"
        )
    draft.evidence = verified
    return None


def _same_category(drafts: Sequence[_Draft], store: KnowledgeStore) -> dict[str, str]:
    """An unspecified code beside a more specific one of its category (I.A.9.b, I.B.18)."""
    records = [d.record for d in drafts if d.record and d.system == "cm"]
    return same_category_conflicts(records) | category_default_conflicts(records, store)


def _integral(drafts: Sequence[_Draft], store: KnowledgeStore) -> dict[str, str]:
    """Signs and symptoms a coded definitive diagnosis includes (I.B.4-5, I.C.18.b)."""
    return integral_symptoms([d.record for d in drafts if d.record and d.system == "cm"])


def _excludes1(drafts: Sequence[_Draft], store: KnowledgeStore) -> dict[str, str]:
    """Excludes1 pairs (I.A.12.a): the less trusted code of each goes."""
    notes = {d.code: store.notes_with_inherited(d.code) for d in drafts if d.system == "cm"}
    return excludes1_conflicts(_ranked_diagnoses(drafts), notes)


def _one_procedure(drafts: Sequence[_Draft], store: KnowledgeStore) -> dict[str, str]:
    """Two PCS codes of one table and one approach read from the same words are two
    readings of one procedure (an antrum biopsy as "Stomach" and as "Pylorus", a device
    coded with and without it): the more trusted one stays."""
    procedures = sorted(
        (d for d in drafts if d.system == "pcs"), key=lambda d: (-d.best.confidence, d.order)
    )
    dropped: dict[str, str] = {}
    kept: list[_Draft] = []
    for draft in procedures:
        same = next(
            (
                k
                for k in kept
                if k.code[:3] == draft.code[:3]
                and k.code[4] == draft.code[4]
                and _shared_evidence(k, draft)
            ),
            None,
        )
        if same is None:
            kept.append(draft)
        else:
            dropped[draft.code] = (
                f"the same procedure, from the same words, as {same.code}: one procedure is "
                "one code (root operation, body part, approach, device and qualifier as "
                "documented)"
            )
    return dropped


def _shared_evidence(a: _Draft, b: _Draft) -> bool:
    return any(x.start < y.end and y.start < x.end for x in a.evidence for y in b.evidence)


def _ranked_diagnoses(drafts: Sequence[_Draft]) -> list[str]:
    """Diagnosis codes most trusted first: confidence, then asked as principal, then order."""
    diagnoses = [d for d in drafts if d.system == "cm"]
    diagnoses.sort(key=lambda d: (-d.best.confidence, not d.asked_principal, d.order))
    return [d.code for d in diagnoses]


def _note_warnings(drafts: Sequence[_Draft], notes: Notes) -> None:
    """A warning per code-first / use-additional-code note the other proposals leave unmet;
    at commit the mandatory ones block (see `commit_problems`)."""
    diagnoses = [d for d in drafts if d.system == "cm" and d.record is not None]
    partners = {d.code: beside(d.record, d.mce) for d in diagnoses if d.record is not None}
    for draft in diagnoses:
        assert draft.record is not None
        others = [b for code, b in partners.items() if code != draft.code]
        draft.warnings += [r.message() for r in unmet(draft.record, others, notes, draft.mce)]


def _sequenced(drafts: Sequence[_Draft], notes: Notes, setting: Setting) -> list[_Draft]:
    records = [d.record for d in drafts if d.system == "cm" and d.record is not None]
    ranked = [
        Ranked(
            code=d.code,
            system=d.system,
            confidence=d.best.confidence,
            asked_principal=d.asked_principal,
            blocker=principal_blocker(d.record, d.mce, setting)
            if d.record and d.system == "cm"
            else None,
            order=d.order,
        )
        for d in drafts
    ]
    role = "principal" if setting == "inpatient" else "first-listed"
    order, warnings = sequence(ranked, must_precede(records, notes), role)
    by_code = {d.code: d for d in drafts}
    for code, extra in warnings.items():
        by_code[code].warnings += extra
    return [by_code[code] for code in order]


def _proposal(
    draft: _Draft,
    number: int,
    store: KnowledgeStore,
    proposer: str,
    kb_release: str,
    model: str | None,
    prompt_version: str | None,
) -> Proposal:
    assert draft.record is not None  # set for every draft that passed `_first_problem`
    citations, unresolved = resolvable_citations(draft.citations, store)
    record = draft.record
    if record.source_id not in {c.source_id for c in citations}:
        kind = "Tabular" if record.system == "cm" else "PCS"
        citations.append(
            Citation(source_id=record.source_id, label=f"{kind}: {record.code} {record.title}")
        )
    return Proposal(
        code=draft.code,
        system=draft.system,
        title=record.title,
        sequence=number,
        confidence=draft.best.confidence,
        evidence=draft.evidence,
        citations=citations,
        rationale=draft.best.rationale,
        warnings=[*draft.warnings, *unresolved],
        assertion=draft.best.assertion,
        proposer=proposer,
        model=model,
        prompt_version=prompt_version,
        kb_release=kb_release,
    )
