"""Vector index in Chroma collections: embedded in the KB version folder, or on a Chroma server.

One collection per code system, so the system filter is a choice of collection: Chroma's
metadata filters cost ~250 ms a query at this size, an unfiltered query under 1 ms. A hit's
code and citation are encoded in its id, so a query fetches only ids and distances. A fiscal
year after the base year has a small collection per system of the texts it adds (new and
revised titles), searched beside the base collection for that year only: cosine similarities
compare across collections, and the base collections stay exactly as they were.

On a server (one server for an API node and its workers) the collections of a KB version are
published under names carrying the version id, since a rollout holds two versions at once; a
small marker collection written last says the version is complete, so a half-published one
is never searched.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import chromadb
import httpx
import numpy as np
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import ChromaError, NotFoundError

from retrieval.errors import KnowledgeBaseError

SYSTEMS = ("cm", "pcs")


def _collection_name(system: str, year: int | None = None) -> str:
    # Chroma names need 3+ characters.
    return f"medcoder-{system}" if year is None else f"medcoder-{system}-fy{year}"


_YEAR_COLLECTION = re.compile(r"^medcoder-(cm|pcs)-fy(\d{4})$")


_ADD_BATCH = 4000  # below Chroma's maximum batch size


@dataclass(frozen=True, slots=True)
class VectorDoc:
    """A text that gets a vector, and where a hit on it leads."""

    code: str | None
    source_id: str
    text: str
    system: str
    billable: bool
    chapter: str | None = None

    def metadata(self) -> dict[str, Any]:
        return {
            "code": self.code or "",
            "source_id": self.source_id,
            "billable": self.billable,
            "chapter": self.chapter or "",
        }


@dataclass(frozen=True, slots=True)
class VectorHit:
    code: str | None
    source_id: str
    similarity: float


def _doc_id(doc: VectorDoc, ordinal: int) -> str:
    return f"{doc.code or ''}\t{doc.source_id}\t{ordinal}"


def _decode(doc_id: str) -> tuple[str | None, str]:
    code, source_id, _ = doc_id.split("\t")
    return code or None, source_id


def open_client(directory: Path) -> Any:
    settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    return chromadb.PersistentClient(path=str(directory), settings=settings)


def connect_server(url: str) -> Any:
    """A client of the Chroma server at `url` (http://host:port or https://...)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise KnowledgeBaseError(f"Chroma server URL {url!r}: give http(s)://host:port")
    ssl = parts.scheme == "https"
    try:
        port = parts.port or (443 if ssl else 8000)
        return chromadb.HttpClient(
            host=parts.hostname,
            port=port,
            ssl=ssl,
            settings=ChromaSettings(anonymized_telemetry=False),
        )
    except (ValueError, httpx.HTTPError) as error:  # the client says ValueError for refused
        raise KnowledgeBaseError(
            f"cannot reach the Chroma server at {url} ({error}); is it running there?"
        ) from error


@contextmanager
def _server_errors(url: str | None) -> Iterator[None]:
    """A server that went away (or a version pruned under a running process) becomes a
    KnowledgeBaseError naming the server, like every other way the KB can be unusable."""
    if url is None:
        yield
        return
    try:
        yield
    except NotFoundError as error:
        raise KnowledgeBaseError(
            f"the Chroma server at {url} no longer holds this KB version's vectors ({error}); "
            "publish them again with `medcoder kb publish-vectors`"
        ) from error
    except (httpx.HTTPError, ChromaError) as error:
        raise KnowledgeBaseError(f"the Chroma server at {url} failed: {error}") from error


# A server holds several versions: `medcoder-<version>-cm`, `medcoder-<version>-cm-fy2027`,
# and the marker `medcoder-<version>-complete`. Chroma names: 3-512 of [a-zA-Z0-9._-],
# starting and ending alphanumeric.
_VERSION_ID = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,400}[A-Za-z0-9])?$")
_SERVER_COLLECTION = re.compile(r"^medcoder-(.+)-(?:(?:cm|pcs)(?:-fy\d{4})?|complete)$")
_MARKER_KEY = "medcoder_collections"


def _server_name(version: str, embedded_name: str) -> str:
    if not _VERSION_ID.match(version):
        raise KnowledgeBaseError(f"KB version id {version!r} cannot name a Chroma collection")
    return f"medcoder-{version}-{embedded_name.removeprefix('medcoder-')}"


def _marker_name(version: str) -> str:
    return _server_name(version, "complete")


def _collection_names(client: Any) -> list[str]:
    return [c if isinstance(c, str) else c.name for c in client.list_collections()]


def _published_counts(client: Any, version: str) -> dict[str, int] | None:
    """The embedded name -> count of each collection of a completely published version."""
    try:
        marker = client.get_collection(_marker_name(version), embedding_function=None)
    except NotFoundError:
        return None
    recorded = (marker.metadata or {}).get(_MARKER_KEY)
    return json.loads(recorded) if isinstance(recorded, str) else None


def published_versions(url: str) -> list[str]:
    """The KB versions with any collection on the server, complete or not."""
    client = connect_server(url)
    with _server_errors(url):
        names = _collection_names(client)
    return sorted({m.group(1) for name in names if (m := _SERVER_COLLECTION.match(name))})


@dataclass(frozen=True, slots=True)
class PublishReport:
    version: str
    vectors: int
    collections: int
    already_published: bool
    seconds: float


def publish_version(
    directory: Path,
    version: str,
    url: str,
    progress: Callable[[int, int], None] | None = None,
) -> PublishReport:
    """Copy the embedded collections in `directory` (a version's `chroma/`) to the server as
    `version`'s, then mark the version complete. A version already complete with the same
    counts is left as is; a partial one is removed and copied again."""
    started = time.monotonic()
    source = open_client(directory)
    sources = {
        name: source.get_collection(name, embedding_function=None)
        for name in _collection_names(source)
    }
    counts = {name: int(collection.count()) for name, collection in sources.items()}
    total = sum(counts.values())
    client = connect_server(url)
    with _server_errors(url):
        if _published_counts(client, version) == counts:
            return PublishReport(version, total, len(counts), True, time.monotonic() - started)
        remove_version(url, version, client)
        batch = max(1, min(_ADD_BATCH, int(client.get_max_batch_size())))
        copied = 0
        for name, collection in sources.items():
            target = client.create_collection(
                _server_name(version, name),
                metadata={"hnsw:space": "cosine"},
                embedding_function=None,
            )
            # Documents stay behind: a search fetches ids and distances only.
            for offset in range(0, counts[name], batch):
                rows = collection.get(
                    limit=batch, offset=offset, include=["embeddings", "metadatas"]
                )
                target.add(
                    ids=rows["ids"], embeddings=rows["embeddings"], metadatas=rows["metadatas"]
                )
                copied += len(rows["ids"])
                if progress is not None:
                    progress(copied, total)
            if int(target.count()) != counts[name]:
                raise KnowledgeBaseError(
                    f"publishing {name} to {url}: the server holds {target.count()} of "
                    f"{counts[name]} vectors; run `medcoder kb publish-vectors` again"
                )
        # Written last: until it exists no process uses this version's collections.
        client.create_collection(
            _marker_name(version),
            metadata={_MARKER_KEY: json.dumps(counts, sort_keys=True)},
            embedding_function=None,
        )
    return PublishReport(version, total, len(counts), False, time.monotonic() - started)


def remove_version(url: str, version: str, client: Any = None) -> int:
    """Delete every collection of `version` from the server (marker first, so no process
    takes the rest for complete meanwhile); the number of collections deleted."""
    client = client if client is not None else connect_server(url)
    with _server_errors(url):
        marker = _marker_name(version)
        names = [
            n
            for n in _collection_names(client)
            if (m := _SERVER_COLLECTION.match(n)) and m.group(1) == version
        ]
        for name in sorted(names, key=lambda n: n != marker):
            try:
                client.delete_collection(name)
            except NotFoundError:  # another pruner got there first
                continue
    return len(names)


class VectorIndex:
    """Nearest-neighbour search over precomputed, L2-normalised embeddings (cosine space)."""

    def __init__(
        self,
        collections: dict[str, Any],
        year_collections: dict[tuple[str, int], Any] | None = None,
        server_url: str | None = None,
    ) -> None:
        self._collections = collections
        self._year_collections = year_collections or {}
        self._server_url = server_url
        # Sizes of the year collections, asked once: on a server each count is a round trip.
        self._year_sizes: dict[tuple[str, int], int] = {}

    @classmethod
    def create(cls, directory: Path, years: Sequence[int] = ()) -> VectorIndex:
        client = open_client(directory)

        def make(name: str) -> Any:
            return client.create_collection(
                name, metadata={"hnsw:space": "cosine"}, embedding_function=None
            )

        return cls(
            {system: make(_collection_name(system)) for system in SYSTEMS},
            {
                (system, year): make(_collection_name(system, year))
                for system in SYSTEMS
                for year in years
            },
        )

    @classmethod
    def open(cls, directory: Path) -> VectorIndex:
        client = open_client(directory)
        return cls._over(client, _collection_names(client), lambda name: name)

    @classmethod
    def open_server(cls, url: str, version: str) -> VectorIndex:
        """The collections `version` published on the Chroma server at `url`."""
        client = connect_server(url)
        with _server_errors(url):
            published = _published_counts(client, version)
            if published is None:
                raise KnowledgeBaseError(
                    f"KB version {version} is not (completely) published on the Chroma server "
                    f"at {url}; run `medcoder kb publish-vectors` on the machine holding it"
                )
            return cls._over(client, list(published), lambda name: _server_name(version, name), url)

    @classmethod
    def _over(
        cls,
        client: Any,
        names: list[str],
        stored_name: Callable[[str], str],
        server_url: str | None = None,
    ) -> VectorIndex:
        """The index over the collections `names` (embedded names), each stored under
        `stored_name(name)` in `client`."""

        def get(name: str) -> Any:
            return client.get_collection(stored_name(name), embedding_function=None)

        year_collections = {
            (match.group(1), int(match.group(2))): get(name)
            for name in names
            if (match := _YEAR_COLLECTION.match(name))
        }
        base = {system: get(_collection_name(system)) for system in SYSTEMS}
        return cls(base, year_collections, server_url)

    def _year_size(self, key: tuple[str, int]) -> int:
        """A year's collection can hold fewer than k texts, which Chroma refuses to ask for."""
        if key not in self._year_sizes:
            with _server_errors(self._server_url):
                self._year_sizes[key] = int(self._year_collections[key].count())
        return self._year_sizes[key]

    def years(self) -> list[int]:
        return sorted({year for _, year in self._year_collections})

    def add(
        self,
        docs: Sequence[VectorDoc],
        vectors: np.ndarray,
        year: int | None = None,
        on_added: Callable[[int], None] | None = None,
    ) -> None:
        """Add to the base collections, or to fiscal `year`'s own; `on_added(n)` after each
        batch of n."""
        self._year_sizes.clear()
        for system in SYSTEMS:
            collection = (
                self._collections[system]
                if year is None
                else self._year_collections[(system, year)]
            )
            rows = [n for n, doc in enumerate(docs) if doc.system == system]
            for start in range(0, len(rows), _ADD_BATCH):
                batch = rows[start : start + _ADD_BATCH]
                collection.add(
                    ids=[_doc_id(docs[n], n) for n in batch],
                    embeddings=vectors[batch],
                    documents=[docs[n].text for n in batch],
                    metadatas=[docs[n].metadata() for n in batch],
                )
                if on_added is not None:
                    on_added(len(batch))

    def count(self) -> int:
        collections = [*self._collections.values(), *self._year_collections.values()]
        return sum(int(c.count()) for c in collections)

    def search(
        self, vector: np.ndarray, k: int, system: str | None = None, year: int | None = None
    ) -> list[VectorHit]:
        """The k nearest documents of one system (or of both, merged by similarity); with a
        fiscal `year`, that year's added texts compete too."""
        return self.search_many(vector[None, :], k, [system], year)[0]

    def search_many(
        self,
        vectors: np.ndarray,
        k: int,
        systems: Sequence[str | None],
        year: int | None = None,
    ) -> list[list[VectorHit]]:
        """`search` for each row of `vectors` in its own system, with one Chroma query per
        collection for all of them: a query's fixed cost (~1 ms) is most of a small one's."""
        found: list[list[VectorHit]] = [[] for _ in systems]
        searched = [(name, c, k) for name, c in self._collections.items()]
        searched += [
            (name, c, min(k, self._year_size((name, y))))
            for (name, y), c in self._year_collections.items()
            if y == year
        ]
        for name, collection, size in searched:
            rows = [n for n, system in enumerate(systems) if not system or system == name]
            if size == 0 or not rows:
                continue
            with _server_errors(self._server_url):
                result = collection.query(
                    query_embeddings=vectors[rows].tolist(),
                    n_results=size,
                    include=["distances"],
                )
            distances = result["distances"] or []
            for row, ids, far in zip(rows, result["ids"], distances, strict=True):
                for doc_id, distance in zip(ids, far, strict=True):
                    code, source_id = _decode(doc_id)
                    found[row].append(VectorHit(code, source_id, 1.0 - float(distance)))
        for hits in found:
            hits.sort(key=lambda hit: -hit.similarity)
            del hits[k:]
        return found
