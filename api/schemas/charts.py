"""Chart bodies: Create (text or FHIR), Public, and a page of them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from agent.models import ChartMeta


class ChartCreate(BaseModel):
    """Exactly one of `text` (the note as plain text) and `fhir` (a FHIR R4
    DocumentReference, Composition or Bundle, as JSON). `meta` carries the dates of service
    (YYYY-MM-DD): `discharge_date` (and `admission_date`) for an inpatient, `encounter_date`
    (the visit date) for an outpatient; FHIR fills those the meta leaves unset from
    Encounter.period and DocumentReference.context.period. Their fiscal year chooses the
    code set (FY2027: 2026-10-01 to 2027-09-30); a chart without a date is coded in the
    newest year the knowledge base holds."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(default=None, description="The note, as plain text.")
    fhir: dict[str, Any] | None = Field(default=None, description="A FHIR R4 resource.")
    external_id: str | None = Field(default=None, max_length=200)
    meta: ChartMeta = ChartMeta()

    @model_validator(mode="after")
    def one_source(self) -> ChartCreate:
        if (self.text is None) == (self.fhir is None):
            raise ValueError("send exactly one of text and fhir")
        return self


class AssigneePublic(BaseModel):
    id: int
    name: str


class ChartPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    external_id: str | None
    status: Literal["new", "coded", "in_review", "committed"]
    version: int
    committed_version: int
    source_format: str
    setting: str
    age: int | None
    sex: str | None
    encounter_date: date | None
    admission_date: date | None = None
    discharge_date: date | None = None
    discharge_status: int | None = None
    created_by: str
    created_at: datetime
    updated_at: datetime
    assigned_to: AssigneePublic | None = Field(
        default=None, description="Who works the chart (null: anyone)."
    )

    @field_validator("assigned_to", mode="before")
    @classmethod
    def _assignee(cls, value: Any, info: ValidationInfo) -> Any:
        # A chart row holds the user id; its name comes from the names the caller looked up
        # (api.access.chart_public), passed as validation context.
        if isinstance(value, int):
            names = (info.context or {}).get("user_names", {})
            if value not in names:
                raise ValueError(f"the name of user {value} was not looked up")
            return {"id": value, "name": names[value]}
        return value


class ChartWithText(ChartPublic):
    text: str


class ChartCounts(BaseModel):
    """Charts per status under the page's filters other than `status` (the worklist's tabs)."""

    new: int = 0
    coded: int = 0
    in_review: int = 0
    committed: int = 0
    all: int = Field(default=0, description="All of them: the sum of the four.")


class ChartPage(BaseModel):
    items: list[ChartPublic]
    total: int = Field(description="Charts matching every filter, status included.")
    offset: int
    limit: int
    counts: ChartCounts = Field(
        default_factory=ChartCounts,
        description="Charts per status matching the other filters (assignee, external_id): "
        "the status filter is not applied to them.",
    )
