"""Benchmark how fast the `medcoder` command line starts, each run a fresh process.

Times ROUNDS runs each of `medcoder --help`, `medcoder kb search "acute appendicitis"`,
`medcoder code <a 2 KB chart>` (CodiEsp dev texts joined, as bench/chart_size.py builds
them) and `medcoder serve` until /health answers (the API answers only once it has loaded
the knowledge base and the agent). Prints the median wall time and the median CPU time
(user + sys) of each against issue 12's targets. Cold means a new process; the files it
reads may be in the OS page cache.

    MEDCODER_HOME=~/.local/share/medcoder .venv/bin/python bench/cli_start.py \
        [--data-dir ../shared/data] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from machine_info import machine  # bench/ is on sys.path when a script runs

ROUNDS = 5
TARGETS_S = {"help": 0.5, "kb_search": 2.0, "code": 3.0, "serve": 5.0}  # issue 12, item 5
SERVE_TIMEOUT_S = 120.0
CHART_KB = 2


def _children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def timed(run: Callable[[], None]) -> tuple[float, float]:
    """Wall seconds and child CPU seconds (user + sys) of one run."""
    cpu, started = _children_cpu(), time.perf_counter()
    run()
    return time.perf_counter() - started, _children_cpu() - cpu


def command(args: list[str], env: dict[str, str]) -> Callable[[], None]:
    def run() -> None:
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            sys.exit(f"{' '.join(args)} failed ({done.returncode}): {done.stderr[-2000:]}")

    return run


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve_until_healthy(medcoder: str, env: dict[str, str]) -> Callable[[], None]:
    """Start `medcoder serve`, poll /health until it answers 200, then stop the server."""

    def run() -> None:
        port = _free_port()
        server = subprocess.Popen(
            [medcoder, "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + SERVE_TIMEOUT_S
            while True:
                if server.poll() is not None:
                    error = server.stderr.read().decode() if server.stderr else ""
                    sys.exit(f"medcoder serve exited ({server.returncode}): {error[-2000:]}")
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                        return  # urlopen raises on anything but 2xx
                except OSError:
                    if time.monotonic() > deadline:
                        sys.exit(f"medcoder serve: no /health answer in {SERVE_TIMEOUT_S:.0f} s")
                    time.sleep(0.05)
        finally:
            server.terminate()
            server.wait(timeout=30)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=os.environ.get("MEDCODER_HOME"))
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("MEDCODER_DATA_DIR", "../shared/data")),
        help="holds codiesp/dev/text_files_en",
    )
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args()
    if args.home is None:
        sys.exit("give --home or set MEDCODER_HOME")
    from chart_size import joined_text  # the same charts as the chart-size benchmark

    folder = args.data_dir / "codiesp" / "dev" / "text_files_en"
    texts = [path.read_text(encoding="utf-8") for path in sorted(folder.glob("*.txt"))]
    if not texts:
        sys.exit(f"no CodiEsp texts in {folder}")
    medcoder = str(Path(sys.executable).with_name("medcoder"))
    scratch = Path(tempfile.mkdtemp(prefix="medcoder-cli-start-"))
    chart = scratch / "chart.txt"
    chart.write_text(joined_text(texts, CHART_KB), encoding="utf-8")
    env = os.environ | {
        "MEDCODER_HOME": str(args.home),
        # serve migrates and opens a review database: a scratch one, not the home's
        "MEDCODER_DATABASE_URL": f"sqlite:///{scratch / 'review.sqlite'}",
    }
    for name in ("MEDCODER_LLM_BASE_URL", "MEDCODER_LLM_MODEL", "OPENAI_API_KEY"):
        env.pop(name, None)  # the offline proposer: no model calls in a start-up time
    runs = {
        "help": command([medcoder, "--help"], env),
        "kb_search": command([medcoder, "kb", "search", "acute appendicitis"], env),
        "code": command([medcoder, "code", str(chart)], env),
        "serve": serve_until_healthy(medcoder, env),
    }
    rows = []
    for name, run in runs.items():
        wall, cpu = zip(*(timed(run) for _ in range(args.rounds)), strict=True)
        median = statistics.median(wall)
        rows.append(
            {
                "command": name,
                "median_s": round(median, 2),
                "min_s": round(min(wall), 2),
                "max_s": round(max(wall), 2),
                "cpu_s": round(statistics.median(cpu), 2),
                "target_s": TARGETS_S[name],
                "met": median <= TARGETS_S[name],
            }
        )

    print(f"chart {len(chart.read_bytes()) / 1000:.1f} KB; median of {args.rounds} fresh processes")
    header = ["command", "median s", "min s", "max s", "cpu s", "target s", "met"]
    print("  ".join(f"{h:>10}" for h in header))
    for row in rows:
        print("  ".join(f"{value!s:>10}" for value in row.values()))
    print(f"machine: {machine()}")
    summary = {"bench": "cli_start", "rounds": args.rounds, "rows": rows, "machine": machine()}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
