"""/evals: start an evaluation run in the background, follow it, read its report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from api.deps import Coder, Reader, ServicesDep
from api.services import Services
from evals.report import render_html
from evals.rundir import RunError
from evals.suite import SuiteError
from evals.suites import AddendaChecker, load_suite
from review.actors import Actor
from review.errors import InvalidInput, NotFound, TooLarge

router = APIRouter(prefix="/evals", tags=["evals"])
NamedSuite = Literal["codiesp-d", "codiesp-p", "codiesp", "desc2code", "rules", "addenda"]


class EvalCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    suite: NamedSuite
    split: Literal["dev", "train"] = Field(
        default="dev", description="CodiEsp split under the server's data directory."
    )
    limit: int | None = Field(
        default=None,
        ge=1,
        le=100_000,
        description="Cases to run; a coder may ask at most MEDCODER_EVAL_MAX_CASES (and must "
        "send a limit for a larger suite), a lead may run a whole suite.",
    )
    proposer: Literal["offline", "llm"] | None = None
    workers: int = Field(
        default=1, ge=1, le=8, description="Threads for the run, at most MEDCODER_EVAL_MAX_WORKERS."
    )


class EvalStarted(BaseModel):
    id: str
    status: str
    suite: str
    cases: int


@router.post("", status_code=202, response_model=EvalStarted)
def post_eval(body: EvalCreate, services: ServicesDep, actor: Coder) -> EvalStarted:
    """Run a named suite; the answer comes at once, the run goes on in the background."""
    settings = services.settings
    if body.workers > settings.eval_max_workers:
        raise InvalidInput(
            f"workers may be at most {settings.eval_max_workers} on this server",
            field="body.workers",
        )
    cap = _case_cap(services, actor, body.limit)
    _check_room(services, actor)  # before loading a suite that could not be queued anyway
    agent = services.agent(body.proposer)
    data = None
    if body.suite.startswith("codiesp"):
        if services.settings.data_dir is None:
            raise InvalidInput(
                "this server has no MEDCODER_DATA_DIR holding CodiEsp", field="suite"
            )
        data = services.settings.data_dir / "codiesp" / body.split
    try:
        suite = load_suite(body.suite, data=data, store=agent.searcher.store, limit=body.limit)
    except SuiteError as error:
        raise InvalidInput(str(error), field="body.suite") from None
    _check_size(suite, cap)
    job_id, _ = services.eval_jobs.new_dir()
    # The addenda suite checks the KB's code sets by year; a checker codes its cases.
    runner: Any = AddendaChecker(agent.searcher) if body.suite == "addenda" else agent
    return _start(services, job_id, suite, runner, body.model_dump(), actor)


@router.post("/upload", status_code=202, response_model=EvalStarted)
def post_eval_upload(
    file: Annotated[UploadFile, File(description="A JSONL suite: one case per line.")],
    services: ServicesDep,
    actor: Coder,
    proposer: Annotated[Literal["offline", "llm"] | None, Form()] = None,
    limit: Annotated[int | None, Form(ge=1)] = None,
) -> EvalStarted:
    """Run your own suite, uploaded as JSONL (see evals/cases/rules.jsonl for the format)."""
    cap = _case_cap(services, actor, limit)
    _check_room(services, actor)  # before keeping an upload that could not be queued anyway
    data = file.file.read(services.settings.max_suite_bytes + 1)
    if len(data) > services.settings.max_suite_bytes:
        raise TooLarge(f"the suite is over {services.settings.max_suite_bytes:,} bytes")
    agent = services.agent(proposer)  # may refuse: before a folder exists to clean up
    job_id, folder = services.eval_jobs.new_dir()
    path = folder / "suite.jsonl"
    path.write_bytes(data)
    try:
        suite = load_suite(str(path), limit=limit)
        _check_size(suite, cap)
    except SuiteError as error:
        services.eval_jobs.discard(job_id)  # a refused upload leaves no run behind
        # Name the upload, not where the server keeps it.
        message = str(error).replace(str(path), file.filename or "upload")
        raise InvalidInput(message, field="file") from None
    except InvalidInput:
        services.eval_jobs.discard(job_id)
        raise
    request = {"suite": file.filename or "upload", "limit": limit, "proposer": proposer}
    return _start(services, job_id, suite, agent, request, actor)


def _start(
    services: Services, job_id: str, suite: Any, agent: Any, request: dict[str, Any], actor: Actor
) -> EvalStarted:
    request = {**request, "started_by": actor.name}
    settings = services.settings
    # Checked again here, under the queue's lock: two requests may both have passed the
    # early check. Runs are counted per user name, which the audit trail also uses.
    services.eval_jobs.submit(
        job_id,
        suite,
        agent,
        request,
        owner=actor.name,
        queue_max=settings.eval_queue_max,
        per_owner=settings.eval_runs_per_user,
    )
    return EvalStarted(id=job_id, status="queued", suite=suite.name, cases=len(suite.cases))


@router.get("/{eval_id}")
def get_eval(eval_id: str, services: ServicesDep, actor: Reader) -> dict[str, Any]:
    """Status (queued, running, finished, interrupted, failed), progress and metrics."""
    job = services.eval_jobs.status(_checked(eval_id))
    if job is None:
        raise NotFound(f"no evaluation run {eval_id}")
    return job


@router.get("/{eval_id}/report", response_class=FileResponse)
def get_eval_report(eval_id: str, services: ServicesDep, actor: Reader) -> FileResponse:
    """The HTML report (tables and figures) of a finished run."""
    job = services.eval_jobs.status(_checked(eval_id))
    if job is None:
        raise NotFound(f"no evaluation run {eval_id}")
    if job["status"] != "finished":
        raise InvalidInput(f"run {eval_id} is {job['status']}; reports need a finished run")
    try:
        path: Path = render_html(services.eval_jobs.root / eval_id)
    except RunError as error:
        raise InvalidInput(str(error)) from None
    return FileResponse(path, media_type="text/html")


def _case_cap(services: Services, actor: Actor, limit: int | None) -> int | None:
    """The most cases this actor's run may take (None: no cap), after refusing a limit
    over it. Leads may run whole suites (CodiEsp's full splits), since they answer for the
    server's load; coders get bounded runs."""
    most = services.settings.eval_max_cases
    if actor.role == "lead":
        return None
    if limit is not None and limit > most:
        raise InvalidInput(
            f"limit may be at most {most:,} cases (MEDCODER_EVAL_MAX_CASES); "
            "a lead may run a whole suite",
            field="body.limit",
        )
    return most


def _check_size(suite: Any, cap: int | None) -> None:
    # Only a suite sent without a limit can be larger: a limit was checked already.
    if cap is not None and len(suite.cases) > cap:
        raise InvalidInput(
            f"the suite has {len(suite.cases):,} cases, more than the {cap:,} one run may "
            "take; send a limit (or ask a lead to run the whole suite)",
            field="body.limit",
        )


def _check_room(services: Services, actor: Actor) -> None:
    settings = services.settings
    services.eval_jobs.check_room(
        actor.name, queue_max=settings.eval_queue_max, per_owner=settings.eval_runs_per_user
    )


def _checked(eval_id: str) -> str:
    # Ids name folders: refuse anything that could walk out of the evals folder.
    if not eval_id.replace("-", "").isalnum() or len(eval_id) > 40:
        raise NotFound(f"no evaluation run {eval_id}")
    return eval_id
