"""The MS-DRG of a chart's working code set, and what each undecided proposal would do to it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.orm import Session

from agent.drg import Claim, DrgError, DrgResult, Grouper, Impact, Sex, impacts
from review.charts import get_chart
from review.commit import final_codes
from review.errors import Conflict, InvalidInput
from review.runs import active_proposals


@dataclass
class PendingImpact:
    """An undecided proposal and what accepting it does to the working set's DRG."""

    proposal_id: int
    impact: Impact


@dataclass
class ChartDrg:
    """The working code set (accepted, modified-to and added codes) grouped."""

    claim: Claim
    result: DrgResult
    pending: list[PendingImpact] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def chart_drg(
    session: Session,
    *,
    chart_id: int,
    grouper: Grouper,
    add: Sequence[str] = (),
    remove: Sequence[str] = (),
    today: date | None = None,
) -> ChartDrg:
    """The DRG of the codes decided so far, with the principal diagnosis the coder chose (or,
    while it is undecided, the one proposed), and for every undecided diagnosis or procedure
    the DRG with it accepted. `add` and `remove` ask what-ifs: the working set with those
    codes added (a PCS code has seven characters and no dot) or taken out. Only inpatient
    stays group to an MS-DRG."""
    chart = get_chart(session, chart_id=chart_id)
    if chart.setting != "inpatient":
        raise InvalidInput(
            f"chart {chart_id} is an {chart.setting} encounter: MS-DRG grouping applies to "
            "inpatient stays",
            field="setting",
        )
    proposals = active_proposals(session, chart_id=chart_id)
    working = final_codes(proposals)
    undecided = [p for p in proposals if p.status == "pending"]
    notes: list[str] = []
    principal = next((c.code for c in working if c.principal and c.system == "cm"), None)
    if principal is None:
        proposed = next((p for p in undecided if p.principal and p.system == "cm"), None)
        if proposed is None:
            raise Conflict(
                f"chart {chart_id} has no principal diagnosis, decided or proposed: "
                "nothing to group"
            )
        principal = proposed.code
        undecided = [p for p in undecided if p is not proposed]
        notes.append(f"the principal diagnosis {principal} is still undecided")
    discharged = chart.discharge_date or chart.encounter_date or chart.admission_date
    if discharged is None:
        discharged = today or date.today()
        notes.append("no discharge date: grouped with the MS-DRG version in force today")
    if chart.discharge_status is None:
        notes.append("discharge status not recorded: grouped as 01 (home or self care)")
    sex: Sex = "M" if chart.sex == "M" else "F" if chart.sex == "F" else "U"
    claim = Claim(
        principal=principal,
        secondary=tuple(c.code for c in working if c.system == "cm" and c.code != principal),
        procedures=tuple(c.code for c in working if c.system == "pcs"),
        age=chart.age,
        sex=sex,
        discharged=discharged,
        discharge_status=chart.discharge_status or 1,
        # POA indicators are not recorded yet: without them any hospital-acquired-condition
        # code would make the set ungroupable, so the HAC rules are left out, and said so.
        hac_exempt=True,
    )
    notes.append(
        "present-on-admission indicators are not recorded: grouped without the HAC rules "
        "(a condition acquired in the hospital may not count as a CC/MCC on the claim)"
    )
    if add or remove:
        claim = claim.with_codes(add=tuple(add), remove=tuple(remove))
        notes.append("what-if: " + ", ".join([*(f"+{c}" for c in add), *(f"-{c}" for c in remove)]))
    try:
        result = grouper.group(claim)
        found = impacts(grouper, claim, [p.code for p in undecided])
    except DrgError as error:
        if add:  # the codes asked about are the likelier culprits
            raise InvalidInput(f"chart {chart_id}: {error}", field="query.with") from error
        raise Conflict(f"chart {chart_id}: {error}") from error
    if result.ungroupable:
        notes.append(
            f"the working code set is ungroupable ({result.return_code}): check the principal "
            "diagnosis, age and sex"
        )
    pending = [
        PendingImpact(proposal_id=p.id, impact=impact)
        for p, impact in zip(undecided, found, strict=True)
    ]
    return ChartDrg(claim=claim, result=result, pending=pending, notes=notes)
