"""The coding conventions, one package: what a proposal must pass before a coder sees it and
what a code set must pass before it is committed. Each rule that drops or warns cites the
ICD-10-CM Official Guidelines section it implements.

- `codes` is the code valid and billable in the loaded code set (I.A.3-I.A.5)
- `notes`, `code_refs` Excludes1 (I.A.12.a) and the codes a tabular note names
- `code_first` code first / use additional code: mandatory pairs and conditional notes (I.A.13)
- `same_category` an unspecified code beside a more specific one (I.A.9.b, I.B.18)
- `mce` Medicare Code Editor age and sex edits
- `sequencing` the principal or first-listed diagnosis, then the rest
- `validate` the gate between a proposer and the coder
- `commit` the problems of a code set at commit, as blockers and warnings
- `policy` which asserted concepts are coded: claims (the Guidelines) or mentions
- `history_codes` a past or a relative's condition as its history Z code (I.C.21.c.4)
- `combination` hypertension with HF / CKD (I.C.9.a), diabetes with (I.A.15)
- `companions` codes reported only beside another: BMI, weeks of gestation, Z79.4 (I.B.14)
- `integral` signs and symptoms a coded diagnosis includes (I.B.4-5, I.C.18.b)

Other packages import from here only, never from the modules.
"""

from agent.rules.code_first import Requirement, requirements
from agent.rules.code_refs import asked_for, covered
from agent.rules.codes import code_problem, code_set_name, resolve_code
from agent.rules.combination import becomes_one_of, combine
from agent.rules.commit import CommitCode, Problem, Severity, commit_problems
from agent.rules.companions import companions
from agent.rules.history_codes import HistoryKind, history_code, is_chronic
from agent.rules.notes import excludes1_with, is_manifestation
from agent.rules.policy import apply_policy
from agent.rules.sequencing import first_listed_rank, is_drug_effect, principal_blocker
from agent.rules.validate import validate_proposals

__all__ = [
    "CommitCode",
    "HistoryKind",
    "Problem",
    "Requirement",
    "Severity",
    "apply_policy",
    "asked_for",
    "becomes_one_of",
    "code_problem",
    "code_set_name",
    "combine",
    "commit_problems",
    "companions",
    "covered",
    "excludes1_with",
    "first_listed_rank",
    "history_code",
    "is_chronic",
    "is_drug_effect",
    "is_manifestation",
    "principal_blocker",
    "requirements",
    "resolve_code",
    "validate_proposals",
]
