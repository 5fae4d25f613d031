"""Who is acting: every review function records it in the audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["coder", "lead", "auditor"]
ROLES: tuple[Role, ...] = ("coder", "lead", "auditor")


@dataclass(frozen=True)
class Actor:
    user_id: int | None  # None for the command line run by the operator
    name: str
    role: Role
    request_id: str | None = None
