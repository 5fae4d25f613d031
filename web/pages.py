"""The workspace's pages: sign-in and sign-out, the worklist and a chart's review. Pages are
shells the browser fills from the JSON API (web/static); the edge (api.edge) has sent anyone
not signed in to /sign-in before a page handler runs."""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import select

from api.auth import FailureCounter
from api.deps import RowId, ServicesDep
from api.edge import SESSION_COOKIE
from api.services import Services
from review.db import transaction
from review.sign_in import check_password, end_session, same_token, start_session
from review.tables import UserRow

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(include_in_schema=False)
# The sign-in form's own token (cookie + hidden field): a page of another site cannot sign a
# browser in under someone else's name (login CSRF).
SIGN_IN_COOKIE = "medcoder_sign_in"


def install(app: FastAPI) -> None:
    services: Services = app.state.services
    settings = services.settings
    app.state.sign_in_failures = FailureCounter(
        settings.sign_in_max_failures, settings.auth_lockout_s
    )
    app.include_router(router)
    app.mount("/assets", StaticFiles(directory=HERE / "static"), name="assets")


def _page(request: Request, template: str, **context: Any) -> HTMLResponse:
    actor = request.state.actor
    return templates.TemplateResponse(
        request,
        template,
        {"user": actor, "csrf_token": getattr(request.state, "csrf_token", ""), **context},
    )


@router.get("/", response_class=HTMLResponse)
async def worklist_page(request: Request) -> HTMLResponse:
    return _page(request, "worklist.html", title="Worklist")


@router.get("/ui/charts/{chart_id}", response_class=HTMLResponse)
async def chart_page(request: Request, chart_id: RowId) -> HTMLResponse:
    return _page(request, "chart.html", title=f"Chart {chart_id}", chart_id=chart_id)


def _local(target: str | None) -> str:
    """Where to go after signing in: a path on this site only (never another host)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _secure(request: Request, services: Services) -> bool:
    return request.url.scheme == "https" or services.settings.secure_cookies


def _sign_in_form(
    request: Request,
    services: Services,
    *,
    next_page: str,
    message: str | None = None,
    status: int = 200,
    name: str = "",
) -> HTMLResponse:
    nonce = secrets.token_urlsafe(24)
    with transaction(services.readers) as session:
        anyone = session.scalar(select(UserRow.id).where(UserRow.password_hash.is_not(None)))
    expired = request.query_params.get("expired") == "1"
    signed_out = request.query_params.get("signed_out") == "1"
    answer = templates.TemplateResponse(
        request,
        "sign_in.html",
        {
            "title": "Sign in",
            "nonce": nonce,
            "next_page": next_page,
            "message": message,
            "expired": expired and message is None,
            "signed_out": signed_out and message is None,
            "no_users": anyone is None,
            "name": name,
        },
        status_code=status,
    )
    answer.set_cookie(
        SIGN_IN_COOKIE,
        nonce,
        max_age=1800,
        path="/sign-in",
        httponly=True,
        samesite="strict",
        secure=_secure(request, services),
    )
    return answer


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, services: ServicesDep, next: str | None = None) -> Response:
    return _sign_in_form(request, services, next_page=_local(next))


@router.post("/sign-in", response_class=HTMLResponse)
def sign_in(
    request: Request,
    services: ServicesDep,
    name: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=2048)],
    nonce: Annotated[str, Form(max_length=100)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Checks the password (argon2, ~0.1 s, in a worker thread); a wrong one counts against
    the address and the name, and either, once over its limit, is refused a while (429)."""
    target = _local(next)
    if not same_token(request.cookies.get(SIGN_IN_COOKIE), nonce):
        message = "This sign-in form is too old. Please try again."
        return _sign_in_form(request, services, next_page=target, message=message, status=400)
    address = request.client.host if request.client else "unknown"
    by_address = services.authenticator.failures
    by_name: FailureCounter = request.app.state.sign_in_failures
    wait = max(by_address.retry_after(address), by_name.retry_after(name.strip().lower()))
    if wait:
        message = f"Too many wrong passwords. Try again in {wait} seconds."
        answer = _sign_in_form(
            request, services, next_page=target, message=message, status=429, name=name
        )
        answer.headers["Retry-After"] = str(wait)
        return answer
    with transaction(services.sessions) as session:
        user = check_password(session, name=name, password=password)
        signed = None
        if user is not None:
            lifetime = timedelta(minutes=services.settings.session_minutes)
            signed = start_session(session, user=user, lifetime=lifetime)
    if signed is None:
        by_address.record(address)
        by_name.record(name.strip().lower())
        message = "Wrong user name or password."
        return _sign_in_form(
            request, services, next_page=target, message=message, status=401, name=name
        )
    signed_in = RedirectResponse(target, status_code=303)
    signed_in.set_cookie(
        SESSION_COOKIE,
        signed.token,
        max_age=services.settings.session_minutes * 60,
        path="/",
        httponly=True,
        samesite="strict",
        secure=_secure(request, services),
    )
    signed_in.delete_cookie(SIGN_IN_COOKIE, path="/sign-in")
    return signed_in


@router.post("/sign-out")
def sign_out(
    request: Request,
    services: ServicesDep,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Ends the session (its token stops working on this server at once), clears the cookie."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        found = services.authenticator.session(token, request_id=None)
        if found is not None and not same_token(csrf_token, found[1]):
            return HTMLResponse("This sign-out lacks the page's token; reload the page.", 403)
        with transaction(services.sessions) as session:
            end_session(session, token=token)
        services.authenticator.forget()
    answer = RedirectResponse("/sign-in?signed_out=1", status_code=303)
    answer.delete_cookie(SESSION_COOKIE, path="/")
    return answer
