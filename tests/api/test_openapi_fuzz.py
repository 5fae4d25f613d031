"""Property-based fuzzing of the whole HTTP API from its own OpenAPI schema (schemathesis).

Every operation the app publishes gets generated requests, valid and invalid (schemathesis'
examples, coverage and fuzzing phases, positive and negative modes), sent in-process to the
ASGI app with a lead's key, on a small seeded database (chart 1 committed, chart 2 coded and
pending, so small ids reach deep into the handlers). Whatever the input:

- the API never answers 5xx (an unhandled exception fails the test as well);
- every 4xx is an RFC 9457 problem: application/problem+json, a JSON object whose "status"
  equals the HTTP status, with a non-empty "title" and "detail".

SQLite only; seeded, with a small example budget, so it is reproducible and quick.
Missing keys and roles are covered by test_auth.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from api.app import create_app
from retrieval.build import BuildReport
from tests.api.client import Api
from wiring.settings import Settings

CHART = "Type 2 diabetes mellitus with diabetic chronic kidney disease stage 3. Acute appendicitis."
MAX_EXAMPLES = 25  # per operation, in the fuzzing phase (the other phases add their own)
SEED = 0  # mixed with each operation's label: the same inputs on every run


def _seed(api: Api) -> None:
    """Chart 1 coded, every proposal accepted, committed; chart 2 coded and pending."""
    for proposal in api.coded_chart(CHART, setting="inpatient", age=61, sex="M"):
        accepted = api.decide(proposal, action="accept")
        assert accepted.status_code == 200, accepted.text
    committed = api.post("/charts/1/commit", json={})
    assert committed.status_code == 201, committed.text
    assert api.coded_chart(CHART, setting="outpatient")


def _without_background_evals(app: FastAPI, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """POST /evals and /evals/upload start real evaluation runs in a background thread (minutes
    of CPU, which the interpreter waits for at exit): keep their request handling, drop the
    run, and keep their run folders out of the shared knowledge-base home."""
    jobs = getattr(app.state.services, "eval_jobs", None)
    if jobs is None:
        return
    monkeypatch.setattr(jobs, "root", folder)
    monkeypatch.setattr(jobs, "submit", lambda *args, **kwargs: None)


def _one_chart_source(schema: schemathesis.BaseSchema) -> None:
    """POST /charts takes exactly one of text and fhir, which its OpenAPI schema does not say:
    a generated body with both keeps only the text, so more valid bodies reach the handler
    (bodies with neither still test the refusal)."""

    @schema.hook
    def map_body(context: schemathesis.HookContext, body: Any) -> Any:
        operation = context.operation
        if (
            operation is not None
            and operation.label == "POST /charts"
            and isinstance(body, dict)
            and {"text", "fhir"} <= body.keys()
        ):
            return {name: value for name, value in body.items() if name != "fhir"}
        return body


@pytest.fixture
def fuzz_schema(
    kb_settings: Settings,
    built_kb: BuildReport,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> schemathesis.BaseSchema:
    """The app's own schema, loaded over ASGI, sending a lead's key on every request."""
    if not hasattr(request.node, "_nodeid"):
        # schemathesis 4.32's from_fixture reads and rewrites the private Item._nodeid, which
        # pytest 9.2 no longer has; give it one (it only labels the subtests in the report).
        request.node._nodeid = request.node.nodeid
    settings = kb_settings.model_copy(
        update={
            "database_url": f"sqlite:///{tmp_path / 'fuzz.sqlite'}",
            "llm_base_url": None,
            "llm_model": None,
        }
    )
    app = create_app(settings)
    _without_background_evals(app, tmp_path / "evals", monkeypatch)
    client = TestClient(app)
    try:
        api = Api.bootstrap(client, app)
        _seed(api)
    finally:
        client.close()
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    schema.config.seed = SEED
    schema.config.update(headers={"Authorization": f"Bearer {api.lead_key}"})
    _one_chart_source(schema)
    return schema


schema = schemathesis.pytest.from_fixture("fuzz_schema")


def _not_a_problem(response: schemathesis.Response) -> str | None:
    """Why a 4xx answer is not an RFC 9457 problem, or None when it is one."""
    # schemathesis' headers: lowercase names, each with a list of values
    content_type = ",".join(response.headers.get("content-type", [])).split(";")[0].strip()
    if content_type != "application/problem+json":
        return f"content-type is {content_type!r}, not application/problem+json"
    try:
        body = json.loads(response.content)
    except ValueError:
        return "the body is not JSON"
    if not isinstance(body, dict):
        return f"the body is a JSON {type(body).__name__}, not an object"
    if body.get("status") != response.status_code:
        return f"body.status is {body.get('status')!r}, not the HTTP status"
    for name in ("title", "detail"):
        if not isinstance(body.get(name), str) or not body[name].strip():
            return f"body.{name} is {body.get(name)!r}, not a non-empty string"
    return None


@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@schema.parametrize()
def test_no_server_errors_and_every_client_error_is_a_problem(case: schemathesis.Case) -> None:
    sent = f"{case.operation.label}, reproduce with:\n{case.as_curl_command()}"
    try:
        response = case.call()
    except Exception as error:  # the app's 500 handler answered, then Starlette re-raised
        pytest.fail(f"500, unhandled {type(error).__name__}: {error}, for {sent}")
    answer = response.content[:2000].decode("utf-8", "replace")
    assert response.status_code < 500, f"{response.status_code} for {sent}\n{answer}"
    if 400 <= response.status_code < 500:
        failure = _not_a_problem(response)
        assert failure is None, f"{response.status_code}: {failure}, for {sent}\n{answer}"
