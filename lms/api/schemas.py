"""Request and response models of the API (pydantic; spectree turns them into OpenAPI 3.1)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Text = Annotated[str, Field(max_length=200, pattern=r"^[^\x00]*$")]
Id = Annotated[int, Field(ge=1, le=2_147_483_647)]
# The OpenAPI document is for developers and, like the command line, speaks English.
MASKED_NOTE = "Masked unless the token's person is an admin or auditor"
Day = Annotated[date, Field(ge=date(1900, 1, 1), le=date(2999, 12, 31))]


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: list[dict[str, str]] | None = None


class Page(BaseModel):
    model_config = ConfigDict(extra="forbid")

    page: int = Field(1, ge=1, le=100_000)
    per_page: int = Field(50, ge=1, le=500)


class PeopleQuery(Page):
    q: Text | None = None
    department_id: Id | None = None
    active: bool | None = None
    employee_number: Text | None = None


class Person(BaseModel):
    id: int
    employee_number: str | None
    name: str
    patronymic: str
    email: str
    personal_code: str | None = Field(None, description=MASKED_NOTE)
    job_title: str
    department_id: int | None
    manager_id: int | None
    hire_date: date | None
    leaving_date: date | None
    worker_category: str
    hazardous_work: bool
    active: bool
    roles: list[str]


class PersonList(BaseModel):
    items: list[Person]
    page: int
    per_page: int
    total: int


class PersonIn(BaseModel):
    """HR sync: create or update the person with this employee number."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00]*\S[^\x00]*$")]
    email: Annotated[str, Field(max_length=254, pattern=r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$")]
    patronymic: Text = ""
    personal_code: Annotated[str, Field(max_length=12, pattern=r"^[0-9-]*$")] | None = None
    job_title: Text = ""
    department_id: Id | None = None
    manager_employee_number: Text | None = None
    hire_date: Day | None = None
    leaving_date: Day | None = None
    worker_category: Literal["employee", "contractor", "trainee", "other_company"] = "employee"
    hazardous_work: bool = False


class Department(BaseModel):
    id: int
    name: str
    code: str
    parent_id: int | None
    manager_id: int | None


class DepartmentList(BaseModel):
    items: list[Department]
    page: int
    per_page: int
    total: int


class DepartmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00]*\S[^\x00]*$")]
    code: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")]
    parent_id: Id | None = None


class DepartmentSync(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00]*\S[^\x00]*$")]
    parent_id: Id | None = None


class Absence(BaseModel):
    id: int
    person_id: int
    starts_on: date
    ends_on: date | None
    kind: str


class AbsenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    starts_on: Day
    ends_on: Day | None = None
    kind: Literal["leave", "sick", "parental", "other"] = "leave"


class AbsenceList(BaseModel):
    items: list[Absence]


class Version(BaseModel):
    id: int
    number: int
    status: str
    title: dict[str, str]
    briefing_type: str
    delivery_mode: str
    refresher_months: int | None


class Program(BaseModel):
    id: int
    code: str
    category: str
    current_version_id: int | None
    title: dict[str, str]


class ProgramList(BaseModel):
    items: list[Program]
    page: int
    per_page: int
    total: int


class VersionList(BaseModel):
    items: list[Version]


class StatusQuery(Page):
    person_id: Id | None = None
    program_id: Id | None = None
    department_id: Id | None = None
    status: Literal["compliant", "due_soon", "overdue", "never_trained", "flagged"] | None = None


class Status(BaseModel):
    person_id: int
    program_id: int
    department_id: int | None
    status: str
    due_on: date | None
    completed_on: date | None


class StatusList(BaseModel):
    items: list[Status]
    page: int
    per_page: int
    total: int


class CompletionQuery(Page):
    person_id: Id | None = None
    program_id: Id | None = None
    since: Day | None = None


class Completion(BaseModel):
    id: int
    person_id: int
    program_id: int
    version_id: int
    completed_on: date
    expires_on: date | None
    earned_by: str
    revoked: bool
    certificate_number: str | None


class CompletionList(BaseModel):
    items: list[Completion]
    page: int
    per_page: int
    total: int


class Certificate(BaseModel):
    number: str
    code: str
    person_name: str
    program_id: int
    issued_at: datetime
    state: str


class SessionQuery(Page):
    program_id: Id | None = None
    since: Day | None = None


class TrainingSession(BaseModel):
    id: int
    program_id: int
    version_id: int
    instructor_id: int
    department_id: int | None
    starts_at: datetime
    ends_at: datetime
    place: str
    capacity: int
    status: str


class SessionList(BaseModel):
    items: list[TrainingSession]
    page: int
    per_page: int
    total: int


class Enrolment(BaseModel):
    id: int
    session_id: int
    person_id: int
    status: str


class EnrolmentList(BaseModel):
    items: list[Enrolment]


class EnrolmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person_id: Id


class EnrolResult(BaseModel):
    enrolled: list[int]
    waitlisted: list[int]
    skipped: list[int]
