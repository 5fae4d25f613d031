"""The hybrid searcher as a LangChain retriever, for agents built on LangChain."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from retrieval.search import HybridSearcher


class KnowledgeBaseRetriever(BaseRetriever):
    """Each hit becomes a Document: the title as content, code and citation in metadata."""

    searcher: Any  # HybridSearcher; typed loosely because pydantic cannot validate it
    k: int = 10
    system: str | None = None
    billable_only: bool = False

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        searcher: HybridSearcher = self.searcher
        hits = searcher.search(
            query, k=self.k, system=self.system, billable_only=self.billable_only
        )
        return [
            Document(
                page_content=f"{hit.code} {hit.title}" if hit.code else hit.title,
                metadata={k: v for k, v in hit.as_dict().items() if v is not None},
            )
            for hit in hits
        ]
