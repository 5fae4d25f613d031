"""One coding agent per proposer mode per process, built on first use (it loads the KB)."""

from __future__ import annotations

import gc
import threading
from typing import TYPE_CHECKING

from review.errors import InvalidInput
from wiring.settings import Settings

if TYPE_CHECKING:
    from agent.pipeline import CodingAgent


class Agents:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._agents: dict[str, CodingAgent] = {}
        self._lock = threading.RLock()

    def mode(self, proposer: str | None) -> str:
        """The proposer mode a request means (None: the configured one); asking for the
        LLM on a server without one is refused, saying what to set."""
        mode = proposer or self.settings.llm_mode
        if mode == "llm" and self.settings.llm_mode != "llm":
            raise InvalidInput(
                "this server has no LLM configured (MEDCODER_LLM_MODEL with "
                "MEDCODER_LLM_BASE_URL or OPENAI_API_KEY); use the offline proposer",
                field="body.proposer",
            )
        return mode

    def get(self, proposer: str | None = None) -> CodingAgent:
        """The agent for a proposer mode, built on first use."""
        from wiring.adapters import make_agent

        mode = self.mode(proposer)
        with self._lock:
            if mode not in self._agents:
                self._agents[mode] = make_agent(self.settings, mode)
                # The KB's millions of long-lived objects would otherwise be rescanned by
                # every full garbage collection, adding pauses to unrelated work.
                gc.freeze()
            return self._agents[mode]
