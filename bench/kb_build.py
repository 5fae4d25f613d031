"""Benchmark `medcoder kb build`: a cold build in a subprocess, into a fresh temporary
MEDCODER_HOME (never an existing knowledge base), timed stage by stage.

It prints the wall time of every stage the build names (read from its plain progress lines
on stderr), the total wall time, the CPU time (user + sys of the build and its children) and
the peak RSS of the whole process tree (sampled every 0.2 s from /proc), against the targets:
under 180 s and under 1.5 GB. `--warm` adds a second build in the same home (the embedding
cache hits); `--compare-years` also builds the base fiscal year alone and prints what the
later years add.

    .venv/bin/python bench/kb_build.py [--data-dir ../shared/data] [--warm] [--compare-years]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from machine_info import machine  # bench/ is on sys.path when a script runs

REPO = Path(__file__).resolve().parent.parent
TARGET_S = 180.0
TARGET_RSS_MB = 1536.0  # 1.5 GB
BASE_YEAR = "2026"
TARGET_SECOND_YEAR = 0.30  # a second fiscal year adds under 30 % to the build time
CLI = [sys.executable, "-m", "api.cli.main", "kb"]
SAMPLE_EVERY_S = 0.2
# The build's plain progress lines: "[  12.3 s] <stage> ..." and "... <stage> done in 4.5 s".
_STARTED = re.compile(r"^\[\s*[\d.]+ s\] (.+) \.\.\.$")
_DONE = re.compile(r"^\[\s*[\d.]+ s\] (.+) done in ([\d.]+) s")
_PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def tree_rss_mb(root: int) -> float:
    """Resident memory of `root` and every process below it, in MB (from /proc)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue  # ended meanwhile
        # The command name is in parentheses and may hold spaces: fields follow the last ')'.
        parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree, grew = {root}, True
    while grew:
        below = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= below
        grew = bool(below)
    pages = 0
    for pid in tree:
        try:
            pages += int(Path(f"/proc/{pid}/statm").read_text().split()[1])
        except OSError:
            continue
    return pages * _PAGE_KB / 1024


class BuildWatch:
    """Follows a running build: its stage (from stderr), each stage's wall time and the peak
    RSS of its process tree overall and per stage."""

    def __init__(self, child: subprocess.Popen[str], echo: bool) -> None:
        self._child = child
        self._echo = echo
        self.stage = "start"
        self.stage_seconds: dict[str, float] = {}
        self.stage_peak_mb: dict[str, float] = {}
        self.peak_mb = 0.0
        self.tail: list[str] = []
        self._done = threading.Event()
        self._threads = [
            threading.Thread(target=self._read_stderr, daemon=True),
            threading.Thread(target=self._sample_rss, daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _read_stderr(self) -> None:
        assert self._child.stderr is not None
        for raw in self._child.stderr:
            line = raw.rstrip("\n")
            self.tail = [*self.tail[-40:], line]
            if self._echo:
                print(f"  | {line}", flush=True)
            if started := _STARTED.match(line):
                self.stage = started.group(1)
            elif done := _DONE.match(line):
                self.stage_seconds[done.group(1)] = float(done.group(2))

    def _sample_rss(self) -> None:
        while not self._done.is_set():
            rss = tree_rss_mb(self._child.pid)
            self.peak_mb = max(self.peak_mb, rss)
            self.stage_peak_mb[self.stage] = max(self.stage_peak_mb.get(self.stage, 0.0), rss)
            self._done.wait(SAMPLE_EVERY_S)

    def stop(self) -> None:
        self._done.set()
        for thread in self._threads:
            thread.join(timeout=5)


def run_build(home: Path, data_dir: Path, years: str | None, echo: bool) -> dict[str, object]:
    """One `kb build --json` child: wall and CPU seconds, peak tree RSS, per-stage times."""
    env = {**os.environ, "MEDCODER_HOME": str(home)}
    env.pop("MEDCODER_KB_YEARS", None)
    chosen = ["--years", years] if years else []
    with tempfile.TemporaryFile("w+") as out:
        started = time.perf_counter()
        child = subprocess.Popen(
            [*CLI, "build", "--data-dir", str(data_dir), "--json", *chosen],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
        )
        watch = BuildWatch(child, echo)
        # Sampled while the child runs; wait4 reaps it (and gives its CPU time).
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        watch.stop()
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            sys.exit(f"build failed ({child.returncode}):\n" + "\n".join(watch.tail))
        out.seek(0)
        report = json.loads(out.read().strip().splitlines()[-1])
    return {
        "wall_s": round(seconds, 1),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "user_s": round(usage.ru_utime, 1),
        "sys_s": round(usage.ru_stime, 1),
        "peak_rss_mb": round(watch.peak_mb, 1),
        "build_seconds": report["seconds"],
        "years": report.get("years", [int(BASE_YEAR)]),
        "stages_s": watch.stage_seconds,
        "stage_peak_rss_mb": {k: round(v, 1) for k, v in watch.stage_peak_mb.items()},
    }


def bench_one(args: argparse.Namespace, years: str | None, label: str) -> dict[str, object]:
    """Cold (and with --warm, warm) build of `years` (None: every year) in a fresh home."""
    home = (args.home / label) if args.home else Path(tempfile.mkdtemp(prefix="medcoder-bench-"))
    home.mkdir(parents=True, exist_ok=True)
    print(f"building {label} into {home} from {args.data_dir.resolve()}", flush=True)
    results: dict[str, object] = {}
    try:
        results["cold"] = run_build(home, args.data_dir, years, not args.quiet)
        if args.warm:
            results["warm"] = run_build(home, args.data_dir, years, not args.quiet)
    finally:
        if not args.keep and args.home is None:
            shutil.rmtree(home, ignore_errors=True)
    return results


def print_build(label: str, mode: str, result: dict) -> None:
    print(f"\n{label} {mode} build, stage by stage (wall s, peak RSS of the tree while in it):")
    peaks = result["stage_peak_rss_mb"]
    for stage, seconds in result["stages_s"].items():
        # A stage shorter than the sampling period may have no sample of its own.
        peak = f"{peaks[stage]:7.0f} MB" if stage in peaks else "      - MB"
        print(f"  {stage:<36} {seconds:7.1f} s  {peak}")
    wall, rss = result["wall_s"], result["peak_rss_mb"]
    print(
        f"  total {wall:.1f} s wall (target < {TARGET_S:.0f} s: "
        f"{'met' if wall < TARGET_S else 'MISSED'}), CPU {result['cpu_s']:.1f} s "
        f"(user {result['user_s']:.1f} + sys {result['sys_s']:.1f}), peak RSS {rss:.0f} MB "
        f"(target < {TARGET_RSS_MB:.0f} MB: {'met' if rss < TARGET_RSS_MB else 'MISSED'})"
    )


def main() -> None:
    default_data = os.environ.get("MEDCODER_DATA_DIR") or str(REPO.parent / "shared" / "data")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path(default_data))
    parser.add_argument(
        "--home", type=Path, help="empty directory to build into (default: new temp dirs)"
    )
    parser.add_argument("--years", help="fiscal years to build, e.g. 2026 (default: every year)")
    parser.add_argument("--warm", action="store_true", help="also time a second build (cache hit)")
    parser.add_argument(
        "--compare-years",
        action="store_true",
        help="also build the base year alone, and print what the later years add",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary homes")
    parser.add_argument("--quiet", action="store_true", help="do not echo the build's progress")
    args = parser.parse_args()

    if args.home is not None and args.home.exists() and any(args.home.iterdir()):
        sys.exit(f"--home {args.home} is not empty; the benchmark needs a fresh home")
    runs: dict[str, str | None] = {"all": args.years}
    if args.compare_years:
        runs = {"base": BASE_YEAR, "all": None}
    results = {label: bench_one(args, years, label) for label, years in runs.items()}

    for label, result in results.items():
        for mode in ("cold", "warm"):
            if mode in result:
                print_build(label, mode, result[mode])  # type: ignore[arg-type]
    summary: dict[str, object] = {
        "bench": "kb_build",
        **results,
        "target_s": TARGET_S,
        "target_rss_mb": TARGET_RSS_MB,
    }
    if "base" in results:
        for mode in ("cold", "warm"):
            if mode in results["base"]:
                base, both = results["base"][mode], results["all"][mode]
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
