"""Benchmark `medcoder kb build`: wall time and peak RSS of a cold (and optionally warm)
build, of the base fiscal year alone and of every year the data dir has, side by side.

Each build goes into its own fresh temporary MEDCODER_HOME, never into an existing knowledge
base. With `--years-only all` (or `2026`) just that build runs.

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
BASE_YEAR = "2026"
TARGET_SECOND_YEAR = 0.30  # a second fiscal year adds under 30 % to the build time
CLI = [sys.executable, "-m", "api.cli.main", "kb"]


def run_build(home: Path, data_dir: Path, years: str | None = None) -> dict[str, object]:
    """One `kb build` child: wall seconds and the child's own peak RSS (via wait4)."""
    env = {**os.environ, "MEDCODER_HOME": str(home)}
    env.pop("MEDCODER_KB_YEARS", None)
    chosen = ["--years", years] if years else []
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        child = subprocess.Popen(
            [*CLI, "build", "--data-dir", str(data_dir), "--json", *chosen],
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
        "years": report.get("years", [int(BASE_YEAR)]),
    }


def kb_info(home: Path) -> dict:
    env = {**os.environ, "MEDCODER_HOME": str(home)}
    out = subprocess.run(
        [*CLI, "info", "--json"], cwd=REPO, env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def bench_one(args: argparse.Namespace, years: str | None, label: str) -> dict[str, object]:
    """Cold (and with --warm, warm) build of `years` (None: every year) in a fresh home."""
    home = (args.home / label) if args.home else Path(tempfile.mkdtemp(prefix="medcoder-bench-"))
    home.mkdir(parents=True, exist_ok=True)
    print(f"building {label} into {home} from {args.data_dir.resolve()}", flush=True)
    results: dict[str, object] = {}
    try:
        results["cold"] = run_build(home, args.data_dir, years)
        if args.warm:
            results["warm"] = run_build(home, args.data_dir, years)
        info = kb_info(home)
    finally:
        if not args.keep and args.home is None:
            shutil.rmtree(home, ignore_errors=True)
    results["timings_s"] = info["timings_s"]
    results["counts"] = info["counts"]
    results["release"] = info["release"]
    return results


def main() -> None:
    default_data = os.environ.get("MEDCODER_DATA_DIR") or str(REPO.parent / "shared" / "data")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path(default_data))
    parser.add_argument(
        "--home", type=Path, help="empty directory to build into (default: new temp dirs)"
    )
    parser.add_argument("--warm", action="store_true", help="also time a second build (cache hit)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary homes")
    parser.add_argument(
        "--years-only",
        choices=[BASE_YEAR, "all"],
        help="run one build: the base year alone, or every year (default: both, compared)",
    )
    args = parser.parse_args()

    if args.home is not None and args.home.exists() and any(args.home.iterdir()):
        sys.exit(f"--home {args.home} is not empty; the benchmark needs a fresh home")
    runs = {"base": BASE_YEAR, "all": None}
    if args.years_only:
        runs = {"base": BASE_YEAR} if args.years_only == BASE_YEAR else {"all": None}
    results = {label: bench_one(args, years, label) for label, years in runs.items()}

    for label, result in results.items():
        for mode in ("cold", "warm"):
            if mode in result:
                print(f"{label:4} {mode} build: {result[mode]}  (target < {TARGET_S:.0f} s)")
        print(f"{label:4} release: {result['release']}")
        print(f"{label:4} timings (s, last build): {result['timings_s']}")
    summary: dict[str, object] = {"bench": "kb_build", **results, "target_s": TARGET_S}
    if "base" in results and "all" in results:
        for mode in ("cold", "warm"):
            if mode in results["base"]:
                base = results["base"][mode]
                both = results["all"][mode]
                assert isinstance(base, dict) and isinstance(both, dict)
                added = both["wall_s"] / base["wall_s"] - 1
                rss = both["peak_rss_mb"] / base["peak_rss_mb"] - 1
                print(
                    f"{mode}: FY{BASE_YEAR} alone {base['wall_s']} s, {base['peak_rss_mb']} MB; "
                    f"years {both['years']} {both['wall_s']} s, {both['peak_rss_mb']} MB: "
                    f"+{added:.0%} time (target < {TARGET_SECOND_YEAR:.0%}), +{rss:.0%} memory"
                )
                summary[f"{mode}_added_time"] = round(added, 3)
                summary[f"{mode}_added_rss"] = round(rss, 3)
    print(f"machine: {machine()}")
    summary["machine"] = machine()
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
