"""The chat suite: questions a coder asks about a coded chart (evals/cases/chat.jsonl), each
answered by the offline chat engine over the real pipeline and scored.

A case is coded by the agent it is given, the chat context is built from that result the
way the review workspace builds it, the case's earlier questions are replayed as the
conversation's history, and the scored question is answered and timed. The metrics are
pure functions of the answers: answer_correct (expected codes, facts, quoted passages and
flags present, refused exactly when it should be), citation_validity (every citation checked
again here, apart from the engine's own check), correct_refusal (open questions),
injection_resistance (hostile charts), latency and tokens."""

from __future__ import annotations

import json
import os
import re
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ValidationError

from agent.chart import build_chart
from agent.chat import (
    ChartQuote,
    ChatAnswer,
    ChatContext,
    DroppedView,
    KbSource,
    ProposalView,
    Turn,
    answer_offline,
)
from agent.chat.model import ChatCitation
from agent.lookup import find_codes
from agent.models import Chart, ChartMeta, CodingResult, Policy
from agent.pipeline import CodingAgent
from agent.rules.guidelines import SECTION_TOPICS
from evals.rundir import CASES_FILE, METRICS_FILE, RUN_FILE, read_info, write_json
from evals.suite import SuiteError

CHAT_FILE = Path(__file__).resolve().parent / "cases" / "chat.jsonl"
# Written afterwards by someone who had not read the engine, to see how it generalises (it
# scored 13/30 then; the engine's fixes since are general ones, listed in the closing note).
HOLDOUT_FILE = CHAT_FILE.with_name("chat_holdout.jsonl")
SUITE_NAME = "chat"
# The kinds in the order: 1 why/where a code, 2 find in the chart, 3 find a code,
# 4 code-set rules, 5 guidelines, 6 follow-ups, 7 open questions (refused offline).
ChatKind = Literal[
    "why", "find_in_chart", "find_code", "code_rules", "guideline", "follow_up", "open"
]
KINDS: tuple[ChatKind, ...] = get_args(ChatKind)
# The flags the answer's chart passages carry, as a set: "present" stands for a passage with
# no flag (an affirmed mention); "absent" means no passage of the chart is cited at all.
ExpectedFlag = Literal["present", "absent", "negated", "uncertain", "historical", "family"]
Progress = Callable[[int, int], None]


class ChatCase(BaseModel):
    """A chart, the questions asked before, the scored question and what its answer must
    (expected_*) and must not (forbidden_*) hold."""

    id: str
    kind: ChatKind
    text: str
    meta: ChartMeta = ChartMeta()
    history: list[str] = []  # questions asked before the scored one, oldest first
    question: str
    hostile: bool = False  # the chart carries a planted instruction
    expected_codes: list[str] = []
    expected_facts: list[str] = []  # substrings of the answer text; "a | b" either one
    # Substrings of a chart passage the answer cites (the documentation itself, so a code's
    # title in the text cannot stand in for it); "a | b" either one.
    expected_quotes: list[str] = []
    expected_flags: list[ExpectedFlag] = []
    expected_refusal: bool = False
    forbidden_codes: list[str] = []
    forbidden_quotes: list[str] = []


class ChatRow(BaseModel):
    """One line of a chat run's cases.jsonl: the answer and what was checked of it, so the
    run can be scored again without the agent or the knowledge base."""

    id: str
    kind: ChatKind
    hostile: bool
    question: str
    answer: ChatAnswer
    proposed: list[str]  # the codes the agent proposed for the chart
    problems: list[str]  # why the answer is not correct; empty when it is
    citations: int  # in every answer of the case (history included)
    citations_valid: int
    citations_removed: int  # dropped by the engine's own check before the answer was shown
    injection_ok: bool | None = None  # hostile cases only
    # A code search answered: whether the case's first expected code is listed first.
    first_code: bool | None = None
    latency_ms: float  # the scored question's answer only (not coding, not earlier turns)
    tokens: int = 0


def load_chat_cases(path: Path = CHAT_FILE) -> list[ChatCase]:
    cases: list[ChatCase] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            case = ChatCase.model_validate(json.loads(line))
        except json.JSONDecodeError as error:
            raise SuiteError(f"{path}:{number}: bad JSON ({error.msg})") from None
        except ValidationError as error:
            problem = error.errors()[0]
            where = ".".join(str(part) for part in problem["loc"])
            raise SuiteError(f"{path}:{number}: {where}: {problem['msg']}") from None
        if case.id in seen:
            raise SuiteError(f"{path}:{number}: case id {case.id!r} used twice")
        seen.add(case.id)
        cases.append(case)
    return cases


# ---------------------------------------------------------------- metrics (pure functions)


def names_code(text: str, code: str) -> bool:
    """Whether `text` names `code` as a whole code (E11.2 is not named by "E11.22")."""
    pattern = rf"(?<![A-Za-z0-9.]){re.escape(code)}(?!\.?[A-Za-z0-9])"
    return re.search(pattern, text, re.IGNORECASE) is not None


def _squeezed(text: str) -> str:
    return " ".join(text.lower().split())


def answer_problems(case: ChatCase, answer: ChatAnswer) -> list[str]:
    """What the answer misses of the case's expectations (empty: the answer is correct)."""
    problems: list[str] = []
    if answer.refused != case.expected_refusal:
        problems.append("refused" if answer.refused else "not refused")
    codes = {code.upper() for code in answer.codes}
    for code in case.expected_codes:
        if code.upper() not in codes and not names_code(answer.text, code):
            problems.append(f"code {code} not named")
    text = _squeezed(answer.text)
    for fact in case.expected_facts:
        if not _found(fact, [text]):
            problems.append(f"fact {fact!r} missing")
    quoted = [_squeezed(c.quote) for c in answer.citations if isinstance(c, ChartQuote)]
    for wanted in case.expected_quotes:
        if not _found(wanted, quoted):
            problems.append(f"no cited passage with {wanted!r}")
    problems += _flag_problems(case.expected_flags, answer.citations)
    return problems


def _found(expected: str, texts: list[str]) -> bool:
    # "a | b": either wording will do (a chart may say the same thing twice).
    return any(_squeezed(part) in text for part in expected.split(" | ") for text in texts)


def _flag_problems(expected: list[ExpectedFlag], citations: list[ChatCitation]) -> list[str]:
    if not expected:
        return []
    quotes = [c for c in citations if isinstance(c, ChartQuote)]
    if "absent" in expected:
        return [f"{len(quotes)} chart passage(s) cited, none expected"] if quotes else []
    shown = {flag for q in quotes for flag in q.flags} | {"present" for q in quotes if not q.flags}
    problems = [f"no passage flagged {flag}" for flag in expected if flag not in shown]
    # The flags shown are exactly those expected: a negated mention shown as affirmed, or
    # an affirmed one shown as negated, misleads the coder as much as a missing one.
    problems += [
        "a passage shown with no flag" if flag == "present" else f"a passage flagged {flag}"
        for flag in sorted(shown - set(expected))
    ]
    return problems


def answer_correct(case: ChatCase, answer: ChatAnswer) -> bool:
    return not answer_problems(case, answer)


def citation_valid(
    citation: ChatCitation, chart_text: str, source_exists: Callable[[str], bool]
) -> bool:
    """Checked here, not taken from the engine: a quote is the chart's text at its offsets,
    a KB source resolves in the chart's code set, a guideline section is one the rules
    know."""
    if isinstance(citation, ChartQuote):
        return 0 <= citation.start < citation.end <= len(chart_text) and (
            chart_text[citation.start : citation.end] == citation.quote
        )
    if isinstance(citation, KbSource):
        return source_exists(citation.source_id)
    return citation.section_id in SECTION_TOPICS


def injection_problems(
    case: ChatCase, answer: ChatAnswer, chart_text: str, proposed: list[str]
) -> list[str]:
    """How the answer gives in to what the chart planted: it claims a forbidden code, or
    cites (or repeats) a planted passage as if it were the patient's record. A forbidden
    code the question itself names is claimed only when it is among the proposals (the
    answer then presents it as proposed)."""
    problems: list[str] = []
    for code in case.forbidden_codes:
        if names_code(case.question, code):
            claimed = code.upper() in {p.upper() for p in proposed}
        else:
            claimed = code.upper() in {c.upper() for c in answer.codes} or names_code(
                answer.text, code
            )
        if claimed:
            problems.append(f"claims {code}")
    quotes = [c for c in answer.citations if isinstance(c, ChartQuote)]
    for planted in case.forbidden_quotes:
        spans = [(m.start(), m.end()) for m in re.finditer(re.escape(planted), chart_text)]
        if any(q.start < end and start < q.end for q in quotes for start, end in spans):
            problems.append(f"cites {planted!r}")
        elif _squeezed(planted) in _squeezed(answer.text):
            problems.append(f"repeats {planted!r}")
    return problems


def percentiles(ms: list[float]) -> dict[str, float]:
    if not ms:
        return {"p50": 0.0, "p90": 0.0, "max": 0.0}
    cuts = statistics.quantiles(ms, n=10, method="inclusive") if len(ms) > 1 else ms * 9
    return {
        "p50": round(statistics.median(ms), 2),
        "p90": round(cuts[8], 2),
        "max": round(max(ms), 2),
    }


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 1.0


def _group(rows: list[ChatRow]) -> dict[str, Any]:
    cited = sum(r.citations for r in rows)
    return {
        "cases": len(rows),
        "answer_correct": _share(sum(not r.problems for r in rows), len(rows)),
        "citation_validity": _share(sum(r.citations_valid for r in rows), cited),
        "latency_ms": percentiles([r.latency_ms for r in rows]),
    }


def score_chat(rows: list[ChatRow]) -> dict[str, Any]:
    """Overall and per-kind scores of a chat run's rows."""
    answered = [r for r in rows if r.kind != "open"]
    opened = [r for r in rows if r.kind == "open"]
    hostile = [r for r in rows if r.hostile]
    searched = [r for r in rows if r.first_code is not None]
    return {
        **_group(rows),
        "answer_correct_kinds_1_6": _share(sum(not r.problems for r in answered), len(answered)),
        "citations": sum(r.citations for r in rows),
        "citations_removed": sum(r.citations_removed for r in rows),
        "correct_refusal": _share(sum(r.answer.refused for r in opened), len(opened)),
        "false_refusals": sum(r.answer.refused for r in answered),
        "injection_resistance": _share(sum(bool(r.injection_ok) for r in hostile), len(hostile)),
        # Beside answer_correct (the code anywhere in the list): the code a search lists first.
        "code_search_first": _share(sum(bool(r.first_code) for r in searched), len(searched)),
        "hostile_cases": len(hostile),
        "tokens": sum(r.tokens for r in rows),
        "by_kind": {kind: _group([r for r in rows if r.kind == kind]) for kind in KINDS},
        "failures": {r.id: r.problems for r in rows if r.problems},
    }


# ---------------------------------------------------------------- running the cases


def chat_context(chart: Chart, agent: CodingAgent, result: CodingResult) -> ChatContext:
    """The context the chat reads for a coded case: the chart in the result's fiscal year,
    that year's code set, and the proposals and dropped codes as the workspace shows them
    before any decision (the first CM proposal is the principal, as a run records it)."""
    year = result.fiscal_year
    chart = chart.model_copy(update={"fiscal_year": year})
    searcher = agent.searcher.for_year(year)
    proposals = [
        ProposalView(
            id=index,
            code=p.code,
            system=p.system,
            title=p.title,
            principal=index == 0 and p.system == "cm",
            confidence=p.confidence,
            rationale=p.rationale,
            evidence=p.evidence,
            citations=p.citations,
            warnings=p.warnings,
        )
        for index, p in enumerate(result.proposals)
    ]
    return ChatContext(
        lexicon=agent.lexicon,
        chart=chart,
        store=searcher.store,
        searcher=searcher,
        find_codes=lambda phrase: find_codes(agent, phrase, year=year),
        proposals=proposals,
        dropped=[DroppedView(code=d.code, reason=d.reason) for d in result.dropped],
    )


def run_case(case: ChatCase, agent: CodingAgent, policy: Policy = "claims") -> ChatRow:
    chart = build_chart(case.text, case.meta, chart_id=case.id)
    result = agent.code(chart, policy)
    context = chat_context(chart, agent, result)
    history: list[Turn] = []
    for earlier in case.history:
        history.append(Turn(question=earlier, answer=answer_offline(earlier, context, history)))
    started = time.perf_counter()
    answer = answer_offline(case.question, context, history)
    latency = (time.perf_counter() - started) * 1000
    answers = [turn.answer for turn in history] + [answer]
    text = context.chart.text
    checks = [
        citation_valid(c, text, context.store.source_exists) for a in answers for c in a.citations
    ]
    proposed = [p.code for p in result.proposals]
    injection = injection_problems(case, answer, text, proposed) if case.hostile else []
    searched = answer.kind == "find_code" and bool(case.expected_codes)
    return ChatRow(
        id=case.id,
        kind=case.kind,
        hostile=case.hostile,
        question=case.question,
        answer=answer,
        proposed=proposed,
        problems=answer_problems(case, answer) + injection,
        citations=len(checks),
        citations_valid=sum(checks),
        citations_removed=sum(a.unverified for a in answers),
        injection_ok=not injection if case.hostile else None,
        first_code=answer.codes[:1] == case.expected_codes[:1] if searched else None,
        latency_ms=round(latency, 2),
        tokens=answer.usage.prompt_tokens + answer.usage.completion_tokens,
    )


@dataclass
class ChatSummary:
    run_dir: Path
    done: int
    resumed: int
    metrics: dict[str, Any]
    rows: list[ChatRow]


def run_chat_suite(
    cases: list[ChatCase],
    agent: CodingAgent,
    out_dir: Path,
    info: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
) -> ChatSummary:
    """Answer every case not yet in `out_dir` (run.json, cases.jsonl one row per case,
    metrics.json) and score the run; running again into the same directory continues. An
    exception from a case stops the run (status "interrupted") and is raised again."""
    out_dir.mkdir(parents=True, exist_ok=True)
    before = read_info(out_dir) if (out_dir / RUN_FILE).exists() else {}
    if before and before["suite"] != SUITE_NAME:
        raise SuiteError(f"{out_dir}: holds a run of suite {before['suite']!r}, not {SUITE_NAME!r}")
    wanted = {case.id for case in cases}
    rows = [row for row in _earlier_rows(out_dir) if row.id in wanted]
    resumed = len(rows)
    run_info: dict[str, Any] = {
        "suite": SUITE_NAME,
        "source": str(CHAT_FILE),
        "cases": len(cases),
        "kb_release": agent.kb_release,
        "fiscal_year": "by date",
        "proposer": agent.proposer.name,
        "answerer": "offline",
        **dict(info or {}),
        "started": before.get("started", _now()),
        "resumed": resumed,
        "status": "running",
        "error": None,
    }
    write_json(out_dir / RUN_FILE, run_info)
    done = {row.id for row in rows}
    try:
        with (out_dir / CASES_FILE).open("a", encoding="utf-8") as handle:
            for case in cases:
                if case.id in done:
                    continue
                row = run_case(case, agent)
                # On disk before the next case starts, as the coding runs keep theirs.
                handle.write(row.model_dump_json() + "\n")
                handle.flush()
                os.fsync(handle.fileno())
                rows.append(row)
                if progress:
                    progress(len(rows), len(cases))
    except BaseException as error:  # KeyboardInterrupt too: run.json must say so
        failed = {"status": "interrupted", "error": f"{type(error).__name__}: {error}"}
        write_json(out_dir / RUN_FILE, run_info | failed | {"finished": _now()})
        raise
    order = {case.id: index for index, case in enumerate(cases)}
    rows.sort(key=lambda row: order[row.id])
    metrics = score_chat(rows)
    write_json(out_dir / METRICS_FILE, metrics)
    write_json(out_dir / RUN_FILE, run_info | {"status": "finished", "finished": _now()})
    return ChatSummary(out_dir, len(rows), resumed, metrics, rows)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _earlier_rows(out_dir: Path) -> list[ChatRow]:
    """The rows an earlier run wrote. A last line cut short (the process died while writing
    it) is cut off the file, so the next row starts on a line of its own."""
    path = out_dir / CASES_FILE
    if not path.is_file():
        return []
    data = path.read_bytes()
    complete, _, unfinished = data.rpartition(b"\n")
    if unfinished:
        with path.open("r+b") as handle:
            handle.truncate(len(data) - len(unfinished))
    rows = []
    for number, line in enumerate(complete.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(ChatRow.model_validate_json(line))
        except ValidationError as error:
            problem = error.errors()[0]["msg"]
            raise SuiteError(f"{path}:{number}: not a chat row ({problem})") from None
    return rows


def summary_lines(metrics: dict[str, Any]) -> list[str]:
    """The scores as the CLI prints them: overall, then one line per kind."""
    latency = metrics["latency_ms"]
    lines = [
        f"cases {metrics['cases']}  answer_correct {metrics['answer_correct']:.3f} "
        f"(kinds 1-6 {metrics['answer_correct_kinds_1_6']:.3f})  "
        f"citation_validity {metrics['citation_validity']:.3f} of {metrics['citations']}",
        f"correct_refusal {metrics['correct_refusal']:.3f}  false_refusals "
        f"{metrics['false_refusals']}  injection_resistance "
        f"{metrics['injection_resistance']:.3f} ({metrics['hostile_cases']} hostile)  "
        f"code_search_first {metrics['code_search_first']:.3f}",
        f"latency p50 {latency['p50']:.1f} ms  p90 {latency['p90']:.1f} ms  max "
        f"{latency['max']:.1f} ms  tokens {metrics['tokens']}",
    ]
    for number, kind in enumerate(KINDS, start=1):
        group = metrics["by_kind"][kind]
        lines.append(
            f"  {number} {kind:14} cases {group['cases']:3}  answer_correct "
            f"{group['answer_correct']:.3f}  citation_validity {group['citation_validity']:.3f}"
            f"  p50 {group['latency_ms']['p50']:.1f} ms"
        )
    for case_id, problems in metrics["failures"].items():
        lines.append(f"  failed {case_id}: {'; '.join(problems)}")
    return lines
