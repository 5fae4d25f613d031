"""Ten coding runs waiting on a slow LLM at once leave the review API quick: runs are jobs on
their own threads, so decisions and reads never queue behind them (real server, real HTTP to
the scripted OpenAI-compatible server)."""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import httpx

from tests.api.server import ServerProcess, first_lead_key
from tests.llm_server import ScriptedLlmServer
from wiring.settings import Settings

TEXT = "Discharge diagnoses:\n1. Acute appendicitis.\n"
SLOW_RUNS = 10
LLM_DELAY_S = 8.0
P99_BOUND_MS = 100.0


def _answer() -> dict[str, Any]:
    start = TEXT.index("Acute appendicitis")
    evidence = [{"quote": "Acute appendicitis", "start": start, "end": start + 18}]
    return {"codes": [{"code": "K35.80", "evidence": evidence, "confidence": 0.9}]}


def test_ten_slow_runs_leave_decisions_and_reads_fast(
    api_settings: Settings, llm_server: ScriptedLlmServer, tiktoken_ready: Path, tmp_path: Path
) -> None:
    for _ in range(SLOW_RUNS):
        llm_server.enqueue_json(_answer(), delay=LLM_DELAY_S)
    key = first_lead_key(api_settings.review_database_url)
    env = {
        "MEDCODER_LLM_BASE_URL": llm_server.base_url,
        "MEDCODER_LLM_MODEL": "scripted-model",
        "MEDCODER_LLM_FALLBACK": "fail",
        "MEDCODER_CODING_CONCURRENCY": str(SLOW_RUNS),
        "MEDCODER_CODING_RUNS_PER_USER": str(SLOW_RUNS),
        "MEDCODER_TIKTOKEN_CACHE_DIR": str(tiktoken_ready),
    }
    server = ServerProcess(api_settings, tmp_path / "server.log", env=env).start(timeout=300)
    headers = {"Authorization": f"Bearer {key}"}
    try:
        with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
            # A chart to review, coded offline (no LLM reply is used for it).
            reviewed = client.post("/charts", json={"text": TEXT}).json()
            run = client.post(
                f"/charts/{reviewed['id']}/coding-runs",
                json={"proposer": "offline"},
                headers={"Prefer": "wait=60"},
            )
            assert run.status_code == 201, run.text
            proposal = run.json()["proposals"][0]
            jobs = []
            for _ in range(SLOW_RUNS):
                chart = client.post("/charts", json={"text": TEXT}).json()
                queued = client.post(f"/charts/{chart['id']}/coding-runs", json={"proposer": "llm"})
                assert queued.status_code == 202, queued.text
                jobs.append(queued.json()["id"])
            deadline = time.monotonic() + 30
            while llm_server.pending > 0:  # every run is waiting on the LLM
                assert time.monotonic() < deadline, llm_server.pending
                time.sleep(0.05)

            timings: list[float] = []
            version = proposal["version"]
            bodies = [{"action": "accept"}, {"action": "reject", "reason": "not_documented"}]
            for index in range(150):
                started = time.perf_counter()
                decided = client.post(
                    f"/proposals/{proposal['id']}/decision",
                    json=bodies[index % 2],
                    headers={"If-Match": f'"{version}"'},
                )
                timings.append((time.perf_counter() - started) * 1000)
                assert decided.status_code == 200, decided.text
                version = decided.json()["version"]
                started = time.perf_counter()
                read = client.get(f"/charts/{reviewed['id']}/proposals")
                timings.append((time.perf_counter() - started) * 1000)
                assert read.status_code == 200
            states = [client.get(f"/jobs/{job}").json()["status"] for job in jobs]
            assert states.count("running") == SLOW_RUNS, states  # measured while they ran

            deadline = time.monotonic() + 120
            while any(client.get(f"/jobs/{j}").json()["status"] == "running" for j in jobs):
                assert time.monotonic() < deadline
                time.sleep(0.2)
            finished = [client.get(f"/jobs/{job}").json() for job in jobs]
    finally:
        server.stop()
    assert all(job["status"] == "succeeded" for job in finished), finished
    assert {p["code"] for job in finished for p in job["run"]["proposals"]} == {"K35.80"}
    p99 = statistics.quantiles(timings, n=100)[98]
    median = statistics.median(timings)
    print(f"under {SLOW_RUNS} slow runs: decisions and reads p50 {median:.1f} ms, p99 {p99:.1f} ms")
    assert p99 < P99_BOUND_MS, f"p99 {p99:.1f} ms, median {statistics.median(timings):.1f} ms"
