"""The KB's vectors served by a real Chroma server (client/server mode, MEDCODER_CHROMA_URL).

One server for the module, started from the venv's `chroma` like a deployment would; the
session knowledge base is published to it once (~20 s for its ~72k vectors)."""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import typer
from typer.testing import CliRunner

from api.cli.vectors import publish_vectors_command
from retrieval.build import BuildReport
from retrieval.errors import KnowledgeBaseError
from retrieval.kb import open_searcher
from retrieval.layout import KBLayout
from retrieval.vectors import (
    PublishReport,
    VectorHit,
    VectorIndex,
    connect_server,
    publish_version,
    published_versions,
    remove_version,
)
from wiring.adapters import make_embedder, make_searcher
from wiring.settings import Settings

QUERIES = [
    ("type 2 diabetes with diabetic chronic kidney disease", "cm"),
    ("acute st elevation myocardial infarction of anterior wall", "cm"),
    ("displaced fracture of shaft of left femur", "cm"),
    ("pneumonia due to streptococcus pneumoniae", None),
    ("laparoscopic appendectomy", "pcs"),
    ("major depressive disorder, recurrent, severe", None),
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ChromaServer:
    def __init__(self, process: subprocess.Popen[bytes], url: str, log: Path) -> None:
        self.process = process
        self.url = url
        self.log = log


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    """`chroma run` on a free loopback port, telemetry off. The binary comes with the
    chromadb package, so its absence is a broken install: fail, never skip."""
    binary = Path(sys.executable).parent / "chroma"
    if not binary.is_file():
        pytest.fail(f"no chroma server binary at {binary} (is chromadb installed?)")
    root = tmp_path_factory.mktemp("chroma-server")
    port = _free_port()
    log = root / "server.log"
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    command = [str(binary), "run", "--path", str(root / "db"), "--host", "127.0.0.1"]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*command, "--port", str(port)], stdout=output, stderr=subprocess.STDOUT, env=env
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            pytest.fail(f"chroma server exited ({process.returncode}): {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"chroma server gave no heartbeat in 60 s: {log.read_text()[-2000:]}")
        time.sleep(0.2)
    try:
        yield ChromaServer(process, url, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def published(built_kb: BuildReport, chroma_server: ChromaServer) -> PublishReport:
    version = built_kb.version_dir
    return publish_version(version / "chroma", version.name, chroma_server.url)


def _alias_home(kb_home: Path, tmp_path: Path, version_id: str) -> Path:
    """A home whose current version is the session KB's files under another version id: a
    version the server has not seen, without building one."""
    real = KBLayout(kb_home).current()
    home = tmp_path / "home"
    alias = KBLayout(home).versions / version_id
    alias.mkdir(parents=True)
    for entry in real.iterdir():
        (alias / entry.name).symlink_to(entry)
    KBLayout(home).switch_to(alias)
    return home


def _assert_same_hits(local: list[VectorHit], remote: list[VectorHit], asked: object) -> None:
    """The same hits in the same order, with the same similarities to float precision."""
    assert [(h.code, h.source_id) for h in remote] == [(h.code, h.source_id) for h in local], asked
    for near, far in zip(local, remote, strict=True):
        assert abs(near.similarity - far.similarity) < 1e-4, asked


def test_server_search_matches_embedded(
    built_kb: BuildReport,
    kb_settings: Settings,
    chroma_server: ChromaServer,
    published: PublishReport,
) -> None:
    assert published.vectors == built_kb.counts["vectors"] and published.collections >= 4
    version = built_kb.version_dir
    embedded = VectorIndex.open(version / "chroma")
    served = VectorIndex.open_server(chroma_server.url, version.name)
    assert served.years() == embedded.years()
    embedder = make_embedder(kb_settings)
    vectors = embedder.embed([query for query, _ in QUERIES])
    systems = [system for _, system in QUERIES]
    for year in [None, *embedded.years()]:
        for (query, system), vector in zip(QUERIES, vectors, strict=True):
            _assert_same_hits(
                embedded.search(vector, 30, system, year),
                served.search(vector, 30, system, year),
                (query, year),
            )
        batched = zip(
            embedded.search_many(vectors, 20, systems, year),
            served.search_many(vectors, 20, systems, year),
            strict=True,
        )
        for local, remote in batched:
            _assert_same_hits(local, remote, year)

    # Through the wiring, as the API and workers open it: the same hybrid hits.
    server_settings = kb_settings.model_copy(update={"chroma_url": chroma_server.url})
    local_searcher, remote_searcher = make_searcher(kb_settings), make_searcher(server_settings)
    for query, system in QUERIES:
        local_hits = local_searcher.search(query, k=10, system=system)
        remote_hits = remote_searcher.search(query, k=10, system=system)
        assert [h.code for h in remote_hits] == [h.code for h in local_hits], query
        assert [h.score for h in remote_hits] == pytest.approx(
            [h.score for h in local_hits], abs=1e-4
        )


def test_publishing_again_is_a_no_op(
    built_kb: BuildReport, chroma_server: ChromaServer, published: PublishReport
) -> None:
    client = connect_server(chroma_server.url)
    before = {c.name: c.id for c in client.list_collections()}
    version = built_kb.version_dir
    again = publish_version(version / "chroma", version.name, chroma_server.url)
    assert again.already_published and again.vectors == published.vectors
    assert {c.name: c.id for c in client.list_collections()} == before


def test_unpublished_version_is_refused_with_what_to_run(
    built_kb: BuildReport, kb_settings: Settings, chroma_server: ChromaServer, tmp_path: Path
) -> None:
    home = _alias_home(kb_settings.home, tmp_path, "20990101T000000000000Z")
    with pytest.raises(KnowledgeBaseError) as error:
        open_searcher(home, make_embedder(kb_settings), chroma_url=chroma_server.url)
    message = str(error.value)
    assert "20990101T000000000000Z is not (completely) published" in message
    assert chroma_server.url in message and "medcoder kb publish-vectors" in message
    # Without an embedder the search is lexical only and never asks the server.
    assert open_searcher(home, None, chroma_url=chroma_server.url).lookup("E11.22")


def test_half_published_version_is_not_used_and_is_redone(
    built_kb: BuildReport, kb_settings: Settings, chroma_server: ChromaServer, tmp_path: Path
) -> None:
    version_id = "20990102T000000000000Z"
    home = _alias_home(kb_settings.home, tmp_path, version_id)
    chroma_dir = KBLayout(home).current() / "chroma"

    class Interrupted(Exception):
        pass

    def stop_after_first_batch(done: int, total: int) -> None:
        raise Interrupted

    with pytest.raises(Interrupted):
        publish_version(chroma_dir, version_id, chroma_server.url, stop_after_first_batch)
    assert version_id in published_versions(chroma_server.url)  # its collections are there
    embedder = make_embedder(kb_settings)
    with pytest.raises(KnowledgeBaseError, match="not \\(completely\\) published"):
        open_searcher(home, embedder, chroma_url=chroma_server.url)

    report = publish_version(chroma_dir, version_id, chroma_server.url)
    assert not report.already_published and report.vectors == built_kb.counts["vectors"]
    searcher = open_searcher(home, embedder, chroma_url=chroma_server.url)
    assert searcher.search("type 2 diabetes mellitus", k=5, system="cm")

    assert remove_version(chroma_server.url, version_id) == report.collections + 1
    assert version_id not in published_versions(chroma_server.url)
    with pytest.raises(KnowledgeBaseError, match="not \\(completely\\) published"):
        open_searcher(home, embedder, chroma_url=chroma_server.url)


def test_cli_publishes_and_prunes_other_versions(
    built_kb: BuildReport,
    kb_settings: Settings,
    chroma_server: ChromaServer,
    published: PublishReport,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # An older version's leftovers: one collection and no marker is enough to be pruned.
    stale = "20200101T000000000000Z"
    connect_server(chroma_server.url).create_collection(
        f"medcoder-{stale}-cm", embedding_function=None
    )
    app = typer.Typer()
    app.command()(publish_vectors_command)
    monkeypatch.setenv("MEDCODER_HOME", str(kb_settings.home))
    monkeypatch.setenv("MEDCODER_CHROMA_URL", chroma_server.url)
    result = CliRunner().invoke(app, ["--prune"])
    assert result.exit_code == 0, result.output
    assert f"already published: KB version {built_kb.version_dir.name}" in result.output
    assert f"removed KB version {stale}" in result.output
    assert published_versions(chroma_server.url) == [built_kb.version_dir.name]


def test_server_that_is_down_is_named(kb_settings: Settings, built_kb: BuildReport) -> None:
    url = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    with pytest.raises(KnowledgeBaseError, match=f"cannot reach the Chroma server at {url}"):
        open_searcher(kb_settings.home, make_embedder(kb_settings), chroma_url=url)
    with pytest.raises(KnowledgeBaseError, match="give http"):
        open_searcher(kb_settings.home, make_embedder(kb_settings), chroma_url="127.0.0.1:8000")


def _remote_addresses(pid: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The peer address of every TCP/UDP socket the process holds."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = os.readlink(fd)
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    peers: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    for table in ("tcp", "udp", "tcp6", "udp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] not in inodes:
                continue
            raw = bytes.fromhex(fields[2].split(":")[0])
            # /proc prints each 32-bit word of the address in host (little-endian) order.
            packed = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            peers.append(ipaddress.ip_address(packed))
    return peers


@pytest.mark.skipif(not Path("/proc/self/net/tcp").exists(), reason="needs Linux /proc")
def test_server_stays_offline(chroma_server: ChromaServer, published: PublishReport) -> None:
    """After publishing and searching, the server holds no connection off this machine
    (no telemetry)."""
    for peer in _remote_addresses(chroma_server.process.pid):
        mapped = peer.ipv4_mapped if isinstance(peer, ipaddress.IPv6Address) else None
        assert peer.is_loopback or peer.is_unspecified or (mapped and mapped.is_loopback), peer
    assert "posthog" not in chroma_server.log.read_text().lower()
