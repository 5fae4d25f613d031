"""MS-DRG grouping of a code set: which DRG a claim groups to, each code's CC/MCC severity, and
what adding or removing one code does to the DRG.

The grouper itself is a kept library behind the small `Grouper` protocol (`MsdrgGrouper`
wraps the `msdrg` package); this package chooses the grouper version by discharge date and
asks the what-if questions a coder and a CDI specialist ask."""

from agent.drg.claims import (
    Claim,
    CodeSeverity,
    DrgError,
    DrgResult,
    Grouper,
    Sex,
    grouper_version,
)
from agent.drg.impact import Impact, impacts
from agent.drg.msdrg_grouper import MsdrgGrouper
from agent.drg.weights import load_weights

__all__ = [
    "Claim",
    "CodeSeverity",
    "DrgError",
    "DrgResult",
    "Grouper",
    "Impact",
    "MsdrgGrouper",
    "Sex",
    "grouper_version",
    "impacts",
    "load_weights",
]
