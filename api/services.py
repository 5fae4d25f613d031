"""What the HTTP app shares between requests, built once from settings by `create_app`."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from agent.chat.answerer import Answerer
from agent.drg import Grouper, MsdrgGrouper, load_weights
from agent.pipeline import CodingAgent
from api.auth import Authenticator, FailureCounter
from api.eval_jobs import EvalJobs
from api.quotas import RunsPerUser
from review.codebook import CodeBook
from review.db import make_engine, read_sessions, sessions
from review.job_runner import JobRunner
from wiring.adapters import make_chat_answerer
from wiring.agents import Agents
from wiring.jobs import JobExecutor, kb_version, make_executor, make_job_runner
from wiring.settings import Settings


@dataclass
class Services:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    readers: sessionmaker[Session]
    runs_per_user: RunsPerUser
    eval_jobs: EvalJobs
    authenticator: Authenticator
    agents: Agents
    executor: JobExecutor
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _runner: JobRunner | None = None
    _codebook: CodeBook | None = None
    _grouper: MsdrgGrouper | None = None
    _weights: dict[int, float] | None = None
    _answerer: Answerer | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        engine = make_engine(
            settings.review_database_url,
            sqlite_synchronous=settings.sqlite_synchronous,
            pool_size=settings.db_pool_size,
        )
        readers = read_sessions(engine)
        failures = FailureCounter(settings.auth_max_failures, settings.auth_lockout_s)
        agents = Agents(settings)
        session_factory = sessions(engine)
        holder: list[Services] = []
        executor = make_executor(settings, lambda: holder[0].job_runner())
        built = cls(
            settings=settings,
            engine=engine,
            sessions=session_factory,
            readers=readers,
            agents=agents,
            executor=executor,
            authenticator=Authenticator(readers, failures),
            runs_per_user=RunsPerUser(settings.coding_runs_per_user),
            eval_jobs=EvalJobs(settings.home / "evals" / "api"),
        )
        holder.append(built)
        return built

    def agent(self, proposer: str | None = None) -> CodingAgent:
        """The coding agent for a proposer mode, built on first use (it loads the KB)."""
        return self.agents.get(proposer)

    def job_runner(self) -> JobRunner:
        """What the in-process executor runs jobs with (Celery workers build their own)."""
        with self._lock:
            if self._runner is None:
                self._runner = make_job_runner(
                    self.settings, self.sessions, self.readers, self.agents.get
                )
            return self._runner

    def kb_version(self) -> str:
        """The KB version jobs are queued for: the one this API node holds."""
        return kb_version(self.settings)

    def codebook(self) -> CodeBook:
        with self._lock:
            if self._codebook is None:
                agent = self.agent("offline")
                self._codebook = CodeBook(agent.searcher.store, agent.kb_release)
            return self._codebook

    def chat_answerer(self) -> Answerer:
        """Who answers chat questions, chosen once: offline unless an LLM is configured."""
        with self._lock:
            if self._answerer is None:
                self._answerer = make_chat_answerer(self.settings)
            return self._answerer

    def forget_keys(self) -> None:
        """Drop the key cache: a deactivated or rotated key stops working at once."""
        self.authenticator.forget()

    def grouper(self) -> Grouper:
        """The MS-DRG grouper, opened on first use and shared (it serialises its calls)."""
        with self._lock:
            if self._grouper is None:
                self._grouper = MsdrgGrouper()
            return self._grouper

    def drg_weights(self) -> dict[int, float]:
        """Relative weights from the configured Table 5 file, read once (none without it)."""
        with self._lock:
            if self._weights is None:
                path = self.settings.drg_weights_file
                self._weights = load_weights(path) if path else {}
            return self._weights

    def close(self) -> None:
        self.executor.close()
        self.eval_jobs.shutdown()
        if self._grouper is not None:
            self._grouper.close()
        self.engine.dispose()
