"""--mix: what a response cache meets in production, not one document repeated.

About a thousand distinct (document, variables) sets, as a frontend sends them: the model page
of many models, the leaderboards of every benchmark as of many dates (and at two page sizes),
and the lineage of many models, each with the same three documents and different variables.
Their popularity is Zipf-like (weight 1/rank over a seeded shuffle), and wrk picks each request
from a precomputed table in which every set fills a share of slots by its weight
(wrk.lua). Meanwhile an editor records a score once a second through the registry's GraphQL
API with an editor token, as a person at a news desk would, so the cache sees real writes.

Every server gets the same sets in the same proportions; PostGraphile answers the leaderboards
through the fair function (bench/fair.py), whose answers are checked against the registry's for
every leaderboard of the mix before any load. The hit rate is the registry's own count, read
from its /metrics when it has one; otherwise it is estimated from PostgreSQL's transaction
counter (see `_estimate_hits`), and the table says which.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import functools
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from bench import fair, peers, report
from bench.config import RunSettings
from bench.dataset import Dataset
from bench.http import get, post
from bench.load import Result, Round, WrkOutput, run_wrk
from bench.measure import Database, measure
from bench.queries import Query, check_answer
from bench.stats import Spread, fmt, ratios

SEED = 20260530
ZIPF_EXPONENT = 1.0
SLOTS = 65_536
MODEL_PAGES = 560
LINEAGES = 260
# The leaderboards: every benchmark, as of the first of each month from 2024-02 to 2026-06
# (the tables' as-of date among them), at two page sizes.
LEADERBOARD_DATES = [dt.date(2024 + (m - 1) // 12, 1 + (m - 1) % 12, 1) for m in range(2, 31)]
PAGE_SIZES = (10, 20)
BENCHMARKS = ("bench-index", "bench-reasoning", "bench-coding")
EDIT_SECONDS = 1.0
# The editor cites a recorded source, found by its URL as a client would find it.
SOURCE_URL = "https://bench.example/source/1"
SOURCE_QUERY = """query Source($url: String!) {
  sources(filter: { url: $url }, first: 1) { nodes { id } } }"""

REGISTRY_DOCUMENTS = {
    "model page": """query ModelPage($slug: String!) { model(slug: $slug) { name
  lab { name country { code } } versions { label stage scores { value measuredOn provenance } }
  } }""",
    "leaderboard": """query Leaderboard($benchmark: String!, $asOf: Date, $first: Int!) {
  leaderboard(benchmark: $benchmark, asOf: $asOf, first: $first) { edges { node { rank
  score { value qualifier } model { name } lab { name } country { code } } } } }""",
    "lineage": """query Lineage($model: String!) { lineage(model: $model, direction: BOTH,
  depth: 3) { nodes { slug name } edges { relation parent { slug } child { slug } } } }""",
}


def _nest(relation: str, target: str, depth: int) -> str:
    if depth == 0:
        return ""
    inner = _nest(relation, target, depth - 1)
    return f"{relation} {{ nodes {{ relation {target} {{ slug name {inner} }} }} }}"


POSTGRAPHILE_DOCUMENTS = {
    "model page": """query ModelPage($slug: String!) { modelBySlug(slug: $slug) { name
  labByLabId { name countryByCountryCode { code } } modelVersionsByModelId { nodes { label
  stage scoresByVersionId { nodes { value measuredOn provenance } } } } } }""",
    "leaderboard": f"""query Leaderboard($benchmark: String, $asOf: Date, $top: Int) {{
  {fair.FIELD}(benchmark: $benchmark, asOf: $asOf, top: $top, first: $top) {{ nodes {{
  value qualifier modelByModelId {{ name labByLabId {{ name countryByCountryCode {{ code }}
  }} }} }} }} }}""",
    "lineage": f"""query Lineage($slug: String!) {{ modelBySlug(slug: $slug) {{ slug name
  {_nest("lineageLinksByChildModelId", "modelByParentModelId", 3)}
  {_nest("lineageLinksByParentModelId", "modelByChildModelId", 3)} }} }}""",
}

EDIT = """mutation RecordScore($input: RecordScoreInput!) {
  recordScore(input: $input) { score { id } userErrors { field code message } } }"""


@dataclass(frozen=True)
class Entry:
    """One (document, variables) set, as each side asks it, and its share of the requests."""

    kind: str
    registry: Query
    postgraphile: Query
    weight: float


def catalogue(models: int, as_of: dt.date) -> list[Entry]:
    """The mix's sets over a dataset of `models` models, with Zipf-like weights: the same
    seed, the same mix."""
    rng = random.Random(SEED)
    sets: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    for m in rng.sample(range(1, models + 1), min(MODEL_PAGES, models)):
        sets.append(("model page", {"slug": f"model-{m}"}, {"slug": f"model-{m}"}))
    for m in rng.sample(range(1, models + 1), min(LINEAGES, models)):
        sets.append(("lineage", {"model": f"model-{m}"}, {"slug": f"model-{m}"}))
    for benchmark in BENCHMARKS:
        for day in sorted({*LEADERBOARD_DATES, as_of}):
            for first in PAGE_SIZES:
                ours = {"benchmark": benchmark, "asOf": day.isoformat(), "first": first}
                theirs = {"benchmark": benchmark, "asOf": day.isoformat(), "top": first}
                sets.append(("leaderboard", ours, theirs))
    rng.shuffle(sets)
    return [
        Entry(
            kind,
            Query(kind, REGISTRY_DOCUMENTS[kind], ours),
            Query(kind, POSTGRAPHILE_DOCUMENTS[kind], theirs),
            1 / (rank**ZIPF_EXPONENT),
        )
        for rank, (kind, ours, theirs) in enumerate(sets, start=1)
    ]


def slots(entries: list[Entry]) -> list[int]:
    """The weighted table wrk picks from: entry i fills a share of SLOTS by its weight."""
    total = sum(entry.weight for entry in entries)
    table: list[int] = []
    for index, entry in enumerate(entries, start=1):  # Lua counts from 1
        table += [index] * max(1, round(SLOTS * entry.weight / total))
    return table


@dataclass
class Files:
    slots: Path
    registry: Path
    postgraphile: Path


def write_files(entries: list[Entry], work: Path) -> Files:
    files = Files(work / "mix-slots.txt", work / "mix-registry.jsonl", work / "mix-pg.jsonl")
    files.slots.write_text(" ".join(map(str, slots(entries))) + "\n")
    files.registry.write_bytes(b"\n".join(e.registry.body() for e in entries) + b"\n")
    files.postgraphile.write_bytes(b"\n".join(e.postgraphile.body() for e in entries) + b"\n")
    return files


# --- the editor -----------------------------------------------------------------------------


def create_editor_token(dsn: str) -> str:
    """`registry token create --role editor` against the benchmark database."""
    registry = Path(sys.executable).with_name("registry")
    env = {"DATABASE_URL": dsn, "REGISTRY_LOG_LEVEL": "warning"}
    result = subprocess.run(
        [str(registry), "token", "create", "--name", "bench-editor", "--role", "editor"],
        env={**_environ(), **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1]


def _environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}


@dataclass
class Edits:
    ok: int = 0
    failed: int = 0
    first_error: str | None = None


class Editor(threading.Thread):
    """Records one score a second through the registry's GraphQL API until stopped."""

    def __init__(self, url: str, token: str, source_id: str, models: int, seed: int) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.source_id = source_id
        self.headers = {"authorization": f"Bearer {token}"}
        self.models = models
        self.rng = random.Random(seed)
        self.edits = Edits()
        self._done = threading.Event()

    def _input(self) -> dict[str, Any]:
        rng = self.rng
        return {
            "model": f"model-{rng.randint(1, self.models)}",
            "version": rng.choice(["preview", "1.0", "1.5", "2.0"]),
            "benchmark": rng.choice(BENCHMARKS),
            "value": round(rng.uniform(5, 55), 1),
            "measuredOn": (dt.date(2025, 6, 1) + dt.timedelta(rng.randint(0, 363))).isoformat(),
            "provenance": "INDEPENDENT",
            "source": {"id": self.source_id},
            "runConfiguration": {"harness": "bench-editor"},
        }

    def run(self) -> None:
        next_edit = time.monotonic()
        while not self._done.wait(max(0.0, next_edit - time.monotonic())):
            next_edit += EDIT_SECONDS
            body = json.dumps({"query": EDIT, "variables": {"input": self._input()}}).encode()
            answer = post(self.url, body, self.headers)
            problem = check_answer(answer) or _user_errors(answer)
            if problem is None:
                self.edits.ok += 1
            else:
                self.edits.failed += 1
                self.edits.first_error = self.edits.first_error or problem

    def stop(self) -> Edits:
        self._done.set()
        self.join()
        return self.edits


def source_id(registry_url: str) -> str:
    body = json.dumps({"query": SOURCE_QUERY, "variables": {"url": SOURCE_URL}}).encode()
    answer = post(registry_url, body)
    try:
        found: str = json.loads(answer)["data"]["sources"]["nodes"][0]["id"]
    except (ValueError, KeyError, IndexError, TypeError) as error:
        raise RuntimeError(
            f"mix: no source {SOURCE_URL} for the editor: {answer[:300]!r}"
        ) from error
    return found


def _user_errors(answer: bytes) -> str | None:
    errors = json.loads(answer)["data"]["recordScore"]["userErrors"]
    return json.dumps(errors)[:200] if errors else None


# --- the hit rate ---------------------------------------------------------------------------

# prometheus_client names a counter `<name>_total`; any registry_*cache*_hits/_misses series.
_SERIES = re.compile(r"^(registry_\w*cache\w*_(hits|misses))(_total)?(\{[^}]*\})? ([0-9.e+]+)$")


def cache_counters(url: str) -> tuple[float, float] | None:
    """(hits, misses) from the registry's /metrics, or None when it has none."""
    text = get(url.removesuffix("/graphql") + "/metrics")
    return None if text is None else parse_cache_counters(text.decode(errors="replace"))


def parse_cache_counters(text: str) -> tuple[float, float] | None:
    """(hits, misses) summed over the cache series of a Prometheus text exposition."""
    found = {"hits": 0.0, "misses": 0.0}
    seen = False
    for line in text.splitlines():
        match = _SERIES.match(line.strip())
        if match:
            found[match.group(2)] += float(match.group(5))
            seen = True
    return (found["hits"], found["misses"]) if seen else None


async def _transactions(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        found: int = await conn.fetchval(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database "
            "WHERE datname = current_database()"
        )
        return found
    finally:
        await conn.close()


def transactions(dsn: str) -> int:
    # Backends publish their counts within a second of going idle (PGSTAT_MIN_INTERVAL).
    time.sleep(1.2)
    return asyncio.run(_transactions(dsn))


@dataclass
class MixRound:
    round: Round
    edits: Edits
    hits: float | None = None
    misses: float | None = None
    transactions: int | None = None


@dataclass
class MixResult:
    label: str
    server: peers.Server
    rounds: list[MixRound] = field(default_factory=list)
    hit_source: str = ""

    def as_result(self) -> Result:
        return Result(self.label, [r.round for r in self.rounds])


def _hit_rates(results: list[MixResult]) -> dict[str, Spread | None]:
    """Per row: the hit rate over its rounds (exact from /metrics, else estimated)."""
    rates: dict[str, Spread | None] = {}
    uncached = next((r for r in results if r.server.name == peers.REGISTRY), None)
    per_request = None
    if uncached is not None:  # every request of the uncached registry reaches PostgreSQL
        counts = [(r.transactions, r.round.requests) for r in uncached.rounds]
        per_request = Spread.of(t / n for t, n in counts if t is not None and n)
    for result in results:
        if result.server.name == peers.REGISTRY:
            rates[result.label] = Spread.of(0.0 for _ in result.rounds)
            result.hit_source = "cache off"
        elif result.server.name != peers.REGISTRY_CACHED:
            rates[result.label] = None
        elif all(r.hits is not None and r.misses is not None for r in result.rounds):
            rates[result.label] = Spread.of(
                (r.hits or 0) / ((r.hits or 0) + (r.misses or 0)) if (r.hits or r.misses) else 0
                for r in result.rounds
            )
            result.hit_source = "the registry's /metrics"
        else:
            rates[result.label] = _estimate_hits(result, per_request)
            result.hit_source = "estimated from PostgreSQL transactions (no /metrics)"
    return rates


def _estimate_hits(cached: MixResult, per_request: Spread | None) -> Spread | None:
    """Without the registry's counters: a miss reaches PostgreSQL, a hit does not. The uncached
    registry, on the same mix, shows how many transactions a request costs; the cached one's
    transactions over that are its misses. Approximate: misses lean to rarer sets, whose cost
    may differ from the average, and the editor's writes count as reads."""
    if per_request is None or not per_request.median:
        return None
    rates = []
    for r in cached.rounds:
        if r.transactions is None or not r.round.requests:
            continue
        misses = r.transactions / per_request.median
        rates.append(max(0.0, 1 - misses / r.round.requests))
    return Spread.of(rates)


# --- the run --------------------------------------------------------------------------------


def _check_entry(entry: Entry, registry: peers.Server, peer: peers.Server | None) -> str | None:
    ours = post(registry.url, entry.registry.body())
    problem = check_answer(ours)
    if problem is not None:
        return f"{registry.name} on {entry.registry.variables}: {problem}"
    if peer is None:
        return None
    theirs = post(peer.url, entry.postgraphile.body())
    problem = check_answer(theirs)
    if problem is not None:
        return f"{peer.name} on {entry.postgraphile.variables}: {problem}"
    if entry.kind == "leaderboard":
        expected, found = fair.registry_entries(ours), fair.peer_entries(theirs)
        if expected != found:  # an empty ranking must be empty on both sides
            problem = fair.mismatch(expected, found) or "one side is empty"
            return (
                f"MISMATCH: {peer.name} ranks {entry.registry.variables} differently from "
                f"the registry.\n{problem}"
            )
    return None


def check(entries: list[Entry], registry: peers.Server, peer: peers.Server | None) -> None:
    """Every set once on the registry and on PostGraphile: each answers with data and no
    errors (wrk counts only HTTP errors), and every leaderboard ranks the same on both."""
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        problems = pool.map(lambda entry: _check_entry(entry, registry, peer), entries)
        for problem in problems:
            if problem is not None:
                raise RuntimeError(f"mix: {problem}")
    boards = sum(1 for entry in entries if entry.kind == "leaderboard")
    print(
        f"mix: {len(entries)} sets answered by {registry.name}"
        + (f" and {peer.name}, its {boards} leaderboards equal the registry's" if peer else ""),
        flush=True,
    )


def _round(
    result: MixResult,
    files: Files,
    editor: Editor,
    settings: RunSettings,
    db: Database,
    transactions_dsn: str | None,
) -> MixRound:
    """One round on one server with the editor writing; the cache's counters around it."""
    server = result.server
    bodies = files.registry if server.name in peers.REGISTRIES else files.postgraphile
    counters = cache_counters(server.url) if server.name == peers.REGISTRY_CACHED else None
    before = transactions(transactions_dsn) if transactions_dsn else None
    editor.start()
    try:
        load = functools.partial(_load, server, bodies, files, settings.round_seconds)
        measured = measure(server, load, db)
    finally:
        edits = editor.stop()
    mix_round = MixRound(measured, edits)
    after = cache_counters(server.url) if counters is not None else None
    if counters is not None and after is not None:
        mix_round.hits = after[0] - counters[0]
        mix_round.misses = after[1] - counters[1]
    if transactions_dsn and before is not None:
        mix_round.transactions = transactions(transactions_dsn) - before
    return mix_round


def run(
    settings: RunSettings,
    data: Dataset,
    db: Database,
    servers: list[peers.Server],
    work: Path,
) -> tuple[str, bool]:
    """The mix on each registry and each v5 (v4 has no fair function row): its section."""
    from bench.config import AS_OF

    entries = catalogue(data.scale.models, AS_OF)
    files = write_files(entries, work)
    by_name = {server.name: server for server in servers}
    registry = by_name[peers.REGISTRY]
    check(entries, registry, next((by_name[n] for n in peers.V5S if n in by_name), None))
    token = create_editor_token(data.dsn)
    source = source_id(registry.url)
    names = [*peers.REGISTRIES, *peers.V5S]
    results = [MixResult(n, by_name[n]) for n in names if n in by_name]
    if settings.warmup_seconds:
        for result in results:
            server = result.server
            bodies = files.registry if server.name in peers.REGISTRIES else files.postgraphile
            _load(server, bodies, files, settings.warmup_seconds)
    cached = by_name.get(peers.REGISTRY_CACHED)
    # Without the registry's own counters, the hit rate is estimated from transactions.
    count_transactions = cached is not None and cache_counters(cached.url) is None
    failed = False
    for round_no in range(settings.rounds):
        for result in results:
            server = result.server
            # The editor writes through the registry under test, else through the uncached one.
            writer = server if server.name in peers.REGISTRIES else registry
            editor = Editor(writer.url, token, source, data.scale.models, SEED + round_no)
            counting = count_transactions and server.name in peers.REGISTRIES
            mix_round = _round(result, files, editor, settings, db, data.dsn if counting else None)
            result.rounds.append(mix_round)
            edits = mix_round.edits
            if edits.first_error:
                print(f"WARNING: mix editor: {edits.failed} failed, e.g. {edits.first_error}",
                      file=sys.stderr)  # fmt: skip
            failed = failed or edits.ok == 0
            print(
                f"  mix round {round_no + 1}: {result.label:32} "
                f"{mix_round.round.rps:8.0f} req/s, {edits.ok} edits",
                flush=True,
            )
    for result in results:
        if result.server.name in peers.REGISTRIES and not result.server.child.alive():
            failed = True
    return _section(entries, results), failed


def _load(server: peers.Server, bodies: Path, files: Files, seconds: int) -> WrkOutput:
    return run_wrk(server.url, bodies, seconds, extra=[str(files.slots)])


def _median_rps(result: Result) -> float:
    rps = result.rps
    return rps.median if rps else 0.0


def _section(entries: list[Entry], results: list[MixResult]) -> str:
    rates = _hit_rates(results)
    v5 = [r for r in results if r.server.name in peers.V5S and r.rounds]
    base = max(v5, key=lambda r: _median_rps(r.as_result()), default=None)
    header = ["server", "req/s", "p50 ms", "p99 ms", "total CPU ms/req", "RSS MB (peak)"]
    header += ["hit rate", "errors", "edits ok/failed", "req/s vs v5", "CPU vs v5"]
    lines = [header]
    for result in results:
        measured = result.as_result()
        edits_ok = sum(r.edits.ok for r in result.rounds)
        edits_failed = sum(r.edits.failed for r in result.rounds)
        rate = rates.get(result.label)
        line = [
            result.label,
            fmt(measured.rps, 0),
            fmt(measured.p50_ms),
            fmt(measured.p99_ms),
            fmt(measured.total_cpu_ms),
            fmt(measured.rss_mb, 0),
            fmt(Spread(rate.median * 100, rate.low * 100, rate.high * 100, rate.n), 1, "%")
            if rate
            else "-",
            str(measured.errors),
            f"{edits_ok}/{edits_failed}",
        ]
        if base is not None:
            other = base.as_result()
            line.append(fmt(ratios(measured.rps_each, other.rps_each), 2, "x"))
            cpu = [c for c in measured.total_cpu_each if c is not None]
            base_cpu = [c for c in other.total_cpu_each if c is not None]
            line.append(fmt(ratios(cpu, base_cpu), 2, "x") if cpu and base_cpu else "-")
        else:
            line += ["-", "-"]
        lines.append(line)
    kinds = {kind: sum(1 for e in entries if e.kind == kind) for kind in REGISTRY_DOCUMENTS}
    top = sorted(entries, key=lambda e: -e.weight)
    share = sum(e.weight for e in top[:10]) / sum(e.weight for e in entries)
    sources = {r.hit_source for r in results if r.hit_source and r.server.name != peers.REGISTRY}
    return (
        f"### mix\n\n{report.table(lines)}\n\n"
        f"{len(entries)} distinct (document, variables) sets: "
        + ", ".join(f"{n} {k}s" for k, n in kinds.items())
        + f"; Zipf-like popularity (weight 1/rank^{ZIPF_EXPONENT:g}, the top 10 sets take "
        f"{share:.0%} of requests); an editor records a score every {EDIT_SECONDS:g} s through "
        "the registry's GraphQL API (an editor token), through the registry under test, else "
        "the uncached one. PostGraphile answers leaderboards with the fair function, checked "
        f"equal on all of them first. Hit rate: {'; '.join(sorted(sources)) or '-'}. "
        + (f"vs v5: against `{base.label}`." if base else "")
    )
