"""What the HTTP app shares between requests, built once from settings by `create_app`."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from agent.pipeline import CodingAgent
from api.settings import Settings
from api.wiring import make_agent
from review.codebook import CodeBook
from review.db import make_engine, sessions


@dataclass
class Services:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    coding_slots: threading.BoundedSemaphore
    _agents: dict[str, CodingAgent] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        engine = make_engine(
            settings.review_database_url,
            sqlite_synchronous=settings.sqlite_synchronous,
            pool_size=settings.db_pool_size,
        )
        return cls(
            settings=settings,
            engine=engine,
            sessions=sessions(engine),
            coding_slots=threading.BoundedSemaphore(settings.coding_concurrency),
        )

    def agent(self, proposer: str | None = None) -> CodingAgent:
        """The coding agent for a proposer mode, built on first use (it loads the KB)."""
        mode = proposer or self.settings.llm_mode
        with self._lock:
            if mode not in self._agents:
                self._agents[mode] = make_agent(self.settings, mode)
            return self._agents[mode]

    def codebook(self) -> CodeBook:
        agent = self.agent("offline")
        return CodeBook(agent.searcher.store, agent.kb_release)

    def close(self) -> None:
        self.engine.dispose()
