"""The workspace in the browser the tests use (Debian's Chromium through Playwright): how soon
a chart with 60 proposals is ready, and a decision's round trip through the page.

Usage: MEDCODER_HOME=<home with a built KB> python bench/web_ui.py [--loads 21] [--decisions 41]
       [--database sqlite|postgresql] [--proposals 60]

Starts `web.app` under uvicorn on a fresh review database, signs in a coder, and makes one
inpatient chart whose run holds exactly --proposals real proposals: CodiEsp train notes
(English, read at run time from MEDCODER_DATA_DIR or ../shared/data) are joined until the
offline agent proposes that many, and the first --proposals of them are stored as the run.

- page ready: navigation start -> the chart page's "chart-ready" performance mark (text,
  highlights and proposal list on screen), over --loads fresh navigations (first dropped as
  warm-up);
- decision round trip: the key press ("a" on the selected proposal) -> the row showing its
  new status, after the API answered; one proposal per decision.
Prints one JSON object with p50/p95 and the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from agent.chart import build_chart  # noqa: E402
from agent.models import ChartMeta  # noqa: E402
from evals.metrics import percentile  # noqa: E402
from review.actors import Actor  # noqa: E402
from review.db import make_engine, sessions, transaction  # noqa: E402
from review.runs import record_coding_run  # noqa: E402
from tests.api.databases import PostgresDatabases, sqlite_url  # noqa: E402
from tests.api.server import ServerProcess  # noqa: E402
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS, PASSWORD, add_people  # noqa: E402
from wiring.adapters import make_agent  # noqa: E402
from wiring.settings import Settings  # noqa: E402

META = {
    "setting": "inpatient",
    "age": 67,
    "sex": "F",
    "admission_date": "2026-10-05",
    "discharge_date": "2026-10-12",
}


def notes() -> list[str]:
    data = Path(os.environ.get("MEDCODER_DATA_DIR", REPO.parent / "shared" / "data"))
    folder = data / "codiesp" / "train" / "text_files_en"
    return [path.read_text() for path in sorted(folder.glob("*.txt"))]


def chart_with_proposals(settings: Settings, wanted: int) -> tuple[str, Any]:
    """A chart text and a coding result holding exactly `wanted` proposals."""
    agent = make_agent(settings, "offline")
    meta = ChartMeta.model_validate(META)
    joined: list[str] = []
    for note in notes():
        joined.append(note)
        text = "\n\n".join(joined)
        result = agent.code(build_chart(text, meta))
        if len(result.proposals) >= wanted:
            return text, result.model_copy(update={"proposals": result.proposals[:wanted]})
    raise SystemExit(f"the train notes together give fewer than {wanted} proposals")


def prepare(settings: Settings, server: ServerProcess, key: str, wanted: int) -> int:
    text, result = chart_with_proposals(settings, wanted)
    headers = {"Authorization": f"Bearer {key}"}
    chart = httpx.post(
        server.url + "/charts", json={"text": text, "meta": META}, headers=headers, timeout=60
    ).json()
    engine = make_engine(settings.review_database_url)
    try:
        with transaction(sessions(engine)) as session:
            record_coding_run(
                session, chart_id=chart["id"], result=result, actor=Actor(None, "bench", "lead")
            )
    finally:
        engine.dispose()
    return int(chart["id"])


def measure(base: str, chart_id: int, loads: int, decisions: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    page_ready: list[float] = []
    round_trips: list[float] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        page.goto(base + "/")
        page.get_by_label("User name").fill("cody")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(base + "/")
        address = f"{base}/ui/charts/{chart_id}"
        print(f"signed in; loading {address} {loads} times", file=sys.stderr)
        for _ in range(loads):
            page.goto(address)
            page.wait_for_selector('#chart-page[data-ready="true"]')
            page_ready.append(
                page.evaluate("performance.getEntriesByName('chart-ready')[0].startTime")
            )
        rows = page.locator("#proposal-list li.proposal")
        count = rows.count()
        print(f"{count} proposals on the page; deciding {decisions}", file=sys.stderr)
        for index in range(min(decisions, count)):
            row = rows.nth(index)
            row.locator(".p-title").click()  # selects it, as a coder would before a key
            # Timed inside the page: from the key event to the row showing "accepted" (the row
            # may be drawn anew, so it is looked up by id each time the list changes).
            elapsed = page.evaluate(
                """(id) => new Promise((resolve, reject) => {
                    const list = document.getElementById('proposal-list');
                    const started = performance.now();
                    const done = () => {
                        const row = document.getElementById(id);
                        return row !== null && row.dataset.status === 'accepted';
                    };
                    // A decision that never shows fails the run rather than hanging it.
                    setTimeout(() => reject(new Error('no "accepted" on ' + id)), 10000);
                    const seen = new MutationObserver(() => {
                        if (done()) {
                            seen.disconnect();
                            resolve(performance.now() - started);
                        }
                    });
                    seen.observe(list, {attributes: true, subtree: true, childList: true});
                    document.body.dispatchEvent(
                        new KeyboardEvent('keydown', {key: 'a', bubbles: true}));
                })""",
                row.get_attribute("id"),
            )
            round_trips.append(elapsed)
        browser.close()
    page_ready = page_ready[1:]  # the first load warms the server's and browser's caches
    return {
        "proposals_on_page": count,
        "page_ready_ms": _summary(page_ready),
        "decision_round_trip_ms": _summary(round_trips),
    }


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50": round(percentile(values, 0.5), 1),
        "p95": round(percentile(values, 0.95), 1),
        "max": round(max(values), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=21)
    parser.add_argument("--decisions", type=int, default=41)
    parser.add_argument("--proposals", type=int, default=60)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="medcoder-web-bench-"))
    postgres = PostgresDatabases() if args.database == "postgresql" else None
    url = postgres.fresh() if postgres else sqlite_url(folder)
    settings = Settings().model_copy(
        update={"database_url": url, "llm_base_url": None, "llm_model": None}
    )
    keys = add_people(url)
    server = ServerProcess(
        settings, folder / "server.log", factory="web.app:app_from_environment"
    ).start(timeout=300)
    try:
        started = time.monotonic()
        chart_id = prepare(settings, server, keys["lena"], args.proposals)
        prepared_s = time.monotonic() - started
        results = measure(server.url, chart_id, args.loads, args.decisions)
    finally:
        server.stop()
        if postgres:
            postgres.drop_all()
    print(
        json.dumps(
            {
                "database": args.database,
                "chart_setup_s": round(prepared_s, 1),
                **results,
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "load_average": os.getloadavg(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
