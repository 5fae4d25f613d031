"""Sustained decisions/s and latency with N concurrent clients against a real server.

Usage: MEDCODER_HOME=<home with a built KB> python bench/review_api.py \
           [--database sqlite|postgresql] [--clients 50] [--seconds 20] [--workers 1]
Without --rate each client sends its next request when the last is answered (closed loop:
the maximum sustained rate); with --rate R the clients send R decisions/s between them on a
fixed schedule (open loop: latency at that load).

Starts `uvicorn api.app:app_from_environment` on a fresh review database (a SQLite file in a
temporary folder, or a new PostgreSQL database dropped afterwards), codes charts to get
proposals, gives every client its own proposals (so the load measures throughput, not
conflicts), has each client decide in a loop (accept / reject with If-Match) and prints one
JSON object: acknowledged decisions/s, p50/p95/p99 latency, errors, machine, and the server's
CPU time per acknowledged decision (all its processes, from /proc): on a shared machine the
rate is noisy, the CPU per decision much less so.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from evals.metrics import percentile  # noqa: E402
from tests.api.databases import PostgresDatabases, sqlite_url  # noqa: E402
from tests.api.server import ServerProcess, first_lead_key  # noqa: E402
from wiring.settings import Settings  # noqa: E402

CHART = (REPO / "tests/agent/charts/appendicitis_diabetes.txt").read_text()
BODIES = ({"action": "accept"}, {"action": "reject", "reason": "not_documented"})


def prepare(base: str, key: str, needed: int) -> list[dict[str, Any]]:
    proposals: list[dict[str, Any]] = []
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}) as client:
        while len(proposals) < needed:
            chart = client.post("/charts", json={"text": CHART}).json()
            run = client.post(
                f"/charts/{chart['id']}/coding-runs",
                json={},
                headers={"Prefer": "wait=60"},  # the run itself, not the queued job
                timeout=90,
            )
            proposals.extend(run.json()["proposals"])
    return proposals


def server_cpu_seconds(pid: int) -> float:
    """User + system CPU of process `pid` and its descendants (uvicorn's workers), from
    /proc/<pid>/stat (Linux only)."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        # Fields after the command name, which is in parentheses and may hold spaces.
        fields = stat[stat.rindex(")") + 2 :].split()
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    family, total = {pid}, 0.0
    for _ in range(3):  # uvicorn's tree is at most supervisor -> worker -> helper deep
        family |= {child for child, parent in parents.items() if parent in family}
    for member in family:
        total += times.get(member, 0.0)
    return total


class RawHttp:
    """A minimal keep-alive HTTP/1.1 client on asyncio streams: httpx's AsyncClient costs
    about 6 ms of client CPU per request here, which would measure the client, not the API."""

    def __init__(self, base: str, key: str) -> None:
        self.host, port = base.removeprefix("http://").split(":")
        self.port = int(port)
        self.auth = f"Authorization: Bearer {key}\r\n"
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: dict[str, Any], version: int) -> tuple[int, Any]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        payload = json.dumps(body).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\n{self.auth}"
            f'If-Match: "{version}"\r\nContent-Type: application/json\r\n'
            f"Content-Length: {len(payload)}\r\n\r\n"
        )
        self.writer.write(head.encode() + payload)
        status_line = await self.reader.readline()
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        data = await self.reader.readexactly(length)
        return int(status_line.split()[1]), json.loads(data)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def client_loop(
    base: str,
    key: str,
    mine: list[dict[str, Any]],
    until: float,
    latencies: list[float],
    interval: float | None,
) -> tuple[int, int]:
    """Decide on this client's own proposals in turn until `until`; the proposal dicts keep
    their current versions for the next run. With `interval`, requests are sent on a fixed
    schedule (open loop) and latency counts from the scheduled time, so a slow answer that
    delays the next request is not hidden (coordinated omission)."""
    acked = errors = 0
    statuses: dict[int, int] = {}
    client = RawHttp(base, key)
    turn = 0
    scheduled = time.perf_counter() + (random.random() * interval if interval else 0)
    while time.perf_counter() < until:
        proposal = mine[turn % len(mine)]
        if interval:
            await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
            started = scheduled
            scheduled += interval
        else:
            started = time.perf_counter()
        status, answer = await client.post(
            f"/proposals/{proposal['id']}/decision", BODIES[turn % 2], proposal["version"]
        )
        latencies.append((time.perf_counter() - started) * 1000)
        turn += 1
        if status == 200:
            acked += 1
            proposal["version"] = answer["version"]
        else:
            errors += 1
            statuses[status] = statuses.get(status, 0) + 1
            if status == 409:
                proposal["version"] = answer["current"]["version"]
    client.close()
    if statuses:
        print(f"non-200 answers: {statuses}", file=sys.stderr)
    return acked, errors


async def load(
    base: str,
    key: str,
    proposals: list[dict[str, Any]],
    clients: int,
    seconds: float,
    rate: float | None = None,
) -> dict[str, Any]:
    share = len(proposals) // clients
    latencies: list[float] = []
    interval = clients / rate if rate else None
    started = time.perf_counter()
    until = started + seconds
    results = await asyncio.gather(
        *(
            client_loop(
                base, key, proposals[i * share : (i + 1) * share], until, latencies, interval
            )
            for i in range(clients)
        )
    )
    elapsed = time.perf_counter() - started
    acked = sum(a for a, _ in results)
    return {
        "decisions_per_s": round(acked / elapsed, 1),
        "acknowledged": acked,
        "errors": sum(e for _, e in results),
        "latency_ms": {
            "p50": round(percentile(latencies, 0.5), 2),
            "p95": round(percentile(latencies, 0.95), 2),
            "p99": round(percentile(latencies, 0.99), 2),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--per-client", type=int, default=4, help="Proposals each client owns.")
    parser.add_argument(
        "--rate", type=float, default=None, help="Offered decisions/s in all (open loop)."
    )
    args = parser.parse_args()
    settings = Settings()
    postgres = PostgresDatabases() if args.database == "postgresql" else None
    with tempfile.TemporaryDirectory() as folder:
        url = postgres.fresh() if postgres else sqlite_url(Path(folder))
        settings = settings.model_copy(update={"database_url": url})
        key = first_lead_key(url)
        server = ServerProcess(settings, Path(folder) / "server.log", workers=args.workers).start()
        try:
            proposals = prepare(server.url, key, args.clients * args.per_client)
            asyncio.run(load(server.url, key, proposals, args.clients, 2))  # warm-up
            assert server.process is not None
            cpu_before = server_cpu_seconds(server.process.pid)
            client_cpu_before = time.process_time()
            report = asyncio.run(
                load(server.url, key, proposals, args.clients, args.seconds, args.rate)
            )
            server_cpu = server_cpu_seconds(server.process.pid) - cpu_before
            client_cpu = time.process_time() - client_cpu_before
            acknowledged = max(1, report["acknowledged"])
            report["server_cpu_ms_per_decision"] = round(server_cpu * 1000 / acknowledged, 3)
            # The load client shares the machine: what it takes is not the server's to use.
            report["client_cpu_ms_per_decision"] = round(client_cpu * 1000 / acknowledged, 3)
        finally:
            server.stop()
            if postgres:
                postgres.drop_all()
    report.update(
        database=args.database,
        clients=args.clients,
        seconds=args.seconds,
        server_workers=args.workers,
        offered_rate=args.rate or "closed loop",
        machine=f"{os.cpu_count()} cpu, {platform.machine()}, Python {platform.python_version()}",
    )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
