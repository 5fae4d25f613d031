"""The service as `medcoder serve` runs it: the API (api.app) with the workspace's pages."""

from __future__ import annotations

from fastapi import FastAPI

from api.app import create_app as create_api
from web import pages
from wiring.settings import Settings


def create_app(settings: Settings, *, migrate: bool = True) -> FastAPI:
    app = create_api(settings, migrate=migrate)
    pages.install(app)
    return app


def app_from_environment() -> FastAPI:
    """For uvicorn's --factory (one per worker); `medcoder serve` has migrated already."""
    return create_app(Settings(), migrate=False)
