"""The scripted LLM server and offline tiktoken, shared with the agent tests."""

from tests.agent.conftest import llm_server, tiktoken_ready  # noqa: F401
