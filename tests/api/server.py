"""The API as a real server process (uvicorn), for concurrency and kill -9 tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from review.actors import Actor
from review.db import make_engine, sessions, transaction, upgrade
from review.users import create_user
from wiring.settings import Settings


def first_lead_key(url: str) -> str:
    """Migrate the database at `url` and create its first lead, as `medcoder users create`
    does before any key exists; the lead's key."""
    upgrade(url)
    engine = make_engine(url)
    try:
        with transaction(sessions(engine)) as session:
            _, key = create_user(
                session, name="lead", role="lead", actor=Actor(None, "cli", "lead")
            )
    finally:
        engine.dispose()
    return key


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    def __init__(
        self,
        settings: Settings,
        log: Path,
        port: int | None = None,
        workers: int = 1,
        env: dict[str, str] | None = None,
        factory: str = "api.app:app_from_environment",
    ) -> None:
        self.factory = factory
        self.settings = settings
        self.env = env or {}
        self.workers = workers
        self.port = port or free_port()
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> ServerProcess:
        env = {
            **os.environ,
            "MEDCODER_HOME": str(self.settings.home),
            "MEDCODER_DATABASE_URL": self.settings.review_database_url,
        }
        if self.settings.data_dir is not None:
            env["MEDCODER_DATA_DIR"] = str(self.settings.data_dir)
        for name in ("MEDCODER_LLM_BASE_URL", "MEDCODER_LLM_MODEL", "OPENAI_API_KEY"):
            env.pop(name, None)
        env.update(self.env)
        command = [
            sys.executable, "-m", "uvicorn", self.factory, "--factory",
            "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning",
            "--workers", str(self.workers),
        ]  # fmt: skip
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("server did not become healthy in time")

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flushing: what a crash looks like."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
