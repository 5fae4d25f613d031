"""Many coders at once against a real server process, and a server killed mid-load."""

from __future__ import annotations

import random
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.server import ServerProcess, first_lead_key
from wiring.settings import Settings

CHART = (Path(__file__).parents[1] / "agent" / "charts" / "appendicitis_diabetes.txt").read_text()
REJECT = {"action": "reject", "reason": "not_documented"}

# Coding runs answered with the run (RFC 7240), not the queued job.
WAIT = {"Prefer": "wait=300"}


@pytest.fixture
def server(api_settings: Settings, tmp_path: Path) -> Iterator[tuple[ServerProcess, str]]:
    key = first_lead_key(api_settings.review_database_url)
    process = ServerProcess(api_settings, tmp_path / "server.log").start()
    yield process, key
    process.stop()


def _client(url: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30)


def _coded_charts(client: httpx.Client, count: int) -> list[list[dict[str, Any]]]:
    charts = []
    for _ in range(count):
        chart = client.post("/charts", json={"text": CHART}).json()
        run = client.post(f"/charts/{chart['id']}/coding-runs", json={}, headers=WAIT)
        assert run.status_code == 201, run.text
        charts.append(run.json()["proposals"])
    return charts


def _decide(client: httpx.Client, proposal_id: int, version: int, body: dict[str, Any]) -> Any:
    return client.post(
        f"/proposals/{proposal_id}/decision", json=body, headers={"If-Match": f'"{version}"'}
    )


def test_same_version_decided_at_once_exactly_one_wins(
    server: tuple[ServerProcess, str],
) -> None:
    process, lead = server
    with _client(process.url, lead) as client:
        proposal = _coded_charts(client, 1)[0][0]
    barrier = threading.Barrier(12)

    def race(index: int) -> int:
        with _client(process.url, lead) as own:
            barrier.wait()
            body = {"action": "accept"} if index % 2 else REJECT
            return int(_decide(own, proposal["id"], 1, body).status_code)

    with ThreadPoolExecutor(12) as pool:
        statuses = list(pool.map(race, range(12)))
    assert sorted(statuses) == [200] + [409] * 11


def test_many_coders_and_a_lead_lose_nothing(server: tuple[ServerProcess, str]) -> None:
    process, lead = server
    with _client(process.url, lead) as client:
        charts = _coded_charts(client, 4)
        coders = [client.post("/users", json={"name": f"c{i}", "role": "coder"}).json()["key"]
                  for i in range(6)]  # fmt: skip
    acked: list[tuple[int, int, str]] = []  # (proposal, version it made, coder)
    commits: dict[int, int] = {}  # chart -> number of acknowledged commits
    lock = threading.Lock()
    proposals = [p for chart in charts for p in chart]

    def coder_loop(key: str, seed: int) -> None:
        rng = random.Random(seed)
        with _client(process.url, key) as own:
            for _ in range(40):
                pick = rng.choice(proposals)
                listed = own.get(f"/charts/{pick['chart_id']}/proposals").json()
                current = next(p for p in listed if p["id"] == pick["id"])
                body = rng.choice([{"action": "accept"}, REJECT])
                response = _decide(own, current["id"], current["version"], body)
                assert response.status_code in (200, 409), response.text
                if response.status_code == 200:
                    with lock:
                        acked.append((current["id"], response.json()["version"], key))

    def lead_loop() -> None:
        with _client(process.url, lead) as own:
            for round_ in range(30):
                chart_id = charts[round_ % len(charts)][0]["chart_id"]
                response = own.post(f"/charts/{chart_id}/commit")
                assert response.status_code in (201, 409), response.text
                if response.status_code == 201:
                    with lock:
                        commits[chart_id] = commits.get(chart_id, 0) + 1

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(coder_loop, key, i) for i, key in enumerate(coders)]
        futures.append(pool.submit(lead_loop))
        for future in futures:
            future.result()

    assert acked, "no decision was acknowledged"
    versions: dict[int, list[int]] = defaultdict(list)
    for proposal_id, version, _ in acked:
        versions[proposal_id].append(version)
    for proposal_id, made in versions.items():
        assert len(made) == len(set(made)), f"proposal {proposal_id}: a version acknowledged twice"
    with _client(process.url, lead) as client:
        for chart in charts:
            chart_id = chart[0]["chart_id"]
            audit = client.get(f"/charts/{chart_id}/audit").json()
            decided = {
                (e["proposal_id"], e["after"]["version"])
                for e in audit
                if e["action"].startswith("proposal.")
            }
            mine = {(p, v) for p, v, _ in acked if p in {x["id"] for x in chart}}
            assert decided == mine, "audit rows and acknowledged decisions differ"
            assert sum(e["action"] == "chart.commit" for e in audit) == commits.get(chart_id, 0)
            _no_decision_after_commit(audit)
            final = {
                p["id"]: p["version"] for p in client.get(f"/charts/{chart_id}/proposals").json()
            }
            for proposal_id, version in final.items():
                assert version == max(versions.get(proposal_id, [1]))


def _no_decision_after_commit(audit: list[dict[str, Any]]) -> None:
    committed = False
    for event in audit:
        if event["action"] == "chart.commit":
            committed = True
        elif event["action"] == "chart.reopen":
            committed = False
        elif event["action"].startswith("proposal."):
            assert not committed, f"decision {event['id']} recorded after a commit"


def test_acknowledged_decisions_survive_kill_9(api_settings: Settings, tmp_path: Path) -> None:
    lead = first_lead_key(api_settings.review_database_url)
    process = ServerProcess(api_settings, tmp_path / "server.log").start()
    with _client(process.url, lead) as client:
        proposals = [p for chart in _coded_charts(client, 6) for p in chart]
    acked: list[tuple[int, int]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def drive(seed: int) -> None:
        rng = random.Random(seed)
        versions = {p["id"]: 1 for p in proposals}
        with _client(process.url, lead) as own:
            while not stop.is_set():
                proposal_id = rng.choice(list(versions))
                body = rng.choice([{"action": "accept"}, REJECT])
                try:
                    response = _decide(own, proposal_id, versions[proposal_id], body)
                except httpx.HTTPError:
                    return  # the server is gone; what it acknowledged is recorded
                if response.status_code == 200:
                    versions[proposal_id] = response.json()["version"]
                    with lock:
                        acked.append((proposal_id, versions[proposal_id]))
                elif response.status_code == 409:
                    versions[proposal_id] = response.json()["current"]["version"]

    threads = [threading.Thread(target=drive, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 120
    while len(acked) < 150 and time.monotonic() < deadline:
        threading.Event().wait(0.05)
    assert len(acked) >= 150, f"only {len(acked)} decisions acknowledged before the deadline"
    process.kill()
    stop.set()
    for thread in threads:
        thread.join(30)
    restarted = ServerProcess(api_settings, tmp_path / "server.log", process.port).start()
    try:
        with _client(restarted.url, lead) as client:
            chart_ids = sorted({p["chart_id"] for p in proposals})
            recorded = set()
            final: dict[int, int] = {}
            for chart_id in chart_ids:
                for event in client.get(f"/charts/{chart_id}/audit").json():
                    if event["action"].startswith("proposal."):
                        recorded.add((event["proposal_id"], event["after"]["version"]))
                for p in client.get(f"/charts/{chart_id}/proposals").json():
                    final[p["id"]] = p["version"]
    finally:
        restarted.stop()
    lost = set(acked) - recorded
    assert not lost, f"{len(lost)} acknowledged decisions lost after kill -9"
    for proposal_id, version in acked:
        assert final[proposal_id] >= version
