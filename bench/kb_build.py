"""Benchmark `medcoder kb build`: wall time and peak RSS of a cold (and optionally warm) build.

Builds into a fresh temporary MEDCODER_HOME, never into an existing knowledge base.

    .venv/bin/python bench/kb_build.py [--data-dir ../shared/data] [--warm] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine_info import machine  # bench/ is on sys.path when a script runs

REPO = Path(__file__).resolve().parent.parent
TARGET_S = 300.0
CLI = [sys.executable, "-m", "api.cli.main", "kb"]


def run_build(home: Path, data_dir: Path) -> dict[str, object]:
    """One `kb build` child: wall seconds and the child's own peak RSS (via wait4)."""
    env = {**os.environ, "MEDCODER_HOME": str(home)}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        child = subprocess.Popen(
            [*CLI, "build", "--data-dir", str(data_dir), "--json"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=err,
        )
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if child.returncode != 0:
            sys.exit(f"build failed ({child.returncode}):\n{err.read()[-2000:]}")
        report = json.loads(out.read().strip().splitlines()[-1])
    return {
        "wall_s": round(seconds, 1),
        "cli_seconds": report["seconds"],
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # KiB on Linux
    }


def kb_info(home: Path) -> dict:
    env = {**os.environ, "MEDCODER_HOME": str(home)}
    out = subprocess.run(
        [*CLI, "info", "--json"], cwd=REPO, env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def main() -> None:
    default_data = os.environ.get("MEDCODER_DATA_DIR") or str(REPO.parent / "shared" / "data")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path(default_data))
    parser.add_argument(
        "--home", type=Path, help="empty directory to build into (default: a new temp dir)"
    )
    parser.add_argument("--warm", action="store_true", help="also time a second build (cache hit)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary home")
    args = parser.parse_args()

    if args.home is not None and args.home.exists() and any(args.home.iterdir()):
        sys.exit(f"--home {args.home} is not empty; the benchmark needs a fresh home")
    home = args.home or Path(tempfile.mkdtemp(prefix="medcoder-bench-"))
    print(f"building into {home} from {args.data_dir.resolve()}")
    results: dict[str, object] = {}
    try:
        results["cold"] = run_build(home, args.data_dir)
        if args.warm:
            results["warm"] = run_build(home, args.data_dir)
        info = kb_info(home)
    finally:
        if not args.keep and args.home is None:
            shutil.rmtree(home, ignore_errors=True)

    for name, numbers in results.items():
        print(f"{name:5} build: {numbers}  (target < {TARGET_S:.0f} s)")
    print(f"release: {info['release']}  embedder: {info['embedder']}")
    print(f"timings (s, last build): {info['timings_s']}")
    print(f"counts: {info['counts']}")
    print(f"machine: {machine()}")
    summary = {
        "bench": "kb_build",
        **results,
        "target_s": TARGET_S,
        "timings_s": info["timings_s"],
        "counts": info["counts"],
        "machine": machine(),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
