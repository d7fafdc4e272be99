"""Property: an answer for a past `knownAt` never changes, whatever is written later.

Hypothesis writes random histories (scores of any provenance, verifications, disputes and
retractions, corrections, archiving and restoring), one transaction an hour on the registry's
pinned clock, into one database: every example builds on the ones before. After each write
the registry's answer is noted with the `knownAt` it carries; after each example's writes,
every question noted so far, asked again for its time, must answer exactly as it did.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service import commands, ids, inputs
from service.db import Conn
from service.errors import RegistryError
from tests.conftest import Api
from tests.test_known_at import QUESTIONS, SOURCE, _claim, _parse, _score, write_on

DAY = st.integers(min_value=0, max_value=20).map(lambda n: f"2026-06-{n + 1:02d}")
Action = tuple[Any, ...]
ACTIONS: st.SearchStrategy[list[Action]] = st.lists(
    st.one_of(
        st.tuples(
            st.just("record"),
            st.integers(min_value=30, max_value=70),
            DAY,
            st.sampled_from(["LAB_CLAIM", "INDEPENDENT", "THIRD_PARTY"]),
        ),
        st.tuples(
            st.just("verify"),
            st.integers(min_value=0, max_value=30),
            st.sampled_from(["VERIFIED", "DISPUTED", "RETRACTED", "UNVERIFIED"]),
            DAY,
        ),
        st.tuples(
            st.just("correct"),
            st.integers(min_value=0, max_value=30),
            st.integers(min_value=30, max_value=70),
            DAY,
        ),
        st.tuples(st.just("archive")),
        st.tuples(st.just("restore")),
    ),
    min_size=1,
    max_size=6,
)


async def _score_ids(conn: Conn) -> list[int]:
    rows = await conn.fetch(
        "SELECT score.id FROM score JOIN model ON model.id = score.model_id "
        "WHERE model.slug = 'example-model' ORDER BY score.id"
    )
    return [row["id"] for row in rows]


def _write(action: Action) -> Any:
    async def write(conn: Conn) -> None:
        kind, *args = action
        scores = await _score_ids(conn)
        try:
            if kind == "record":
                value, day, provenance = args
                await commands.record_score(conn, "editor", _score(value, "EXACT", day, provenance))
            elif kind == "verify" and scores:
                pick, verification, day = args
                data = {
                    "score": ids.encode("Score", scores[pick % len(scores)]),
                    "verification": verification,
                    "changedOn": day,
                }
                await commands.set_score_verification(
                    conn, "editor", _parse(inputs.ScoreVerificationInput, data)
                )
            elif kind == "correct" and scores:
                pick, value, day = args
                data = {
                    "score": ids.encode("Score", scores[pick % len(scores)]),
                    "value": value,
                    "measuredOn": day,
                    "source": SOURCE,
                }
                await commands.supersede_score(
                    conn, "editor", _parse(inputs.SupersedeScoreInput, data)
                )
            elif kind in ("archive", "restore"):
                archive = commands.archive_model if kind == "archive" else commands.restore_model
                await archive(
                    conn, "editor", _parse(inputs.ArchiveInput, {"slug": "example-model"})
                )
        except RegistryError:
            pass  # refused (a score measured before the one it corrects, ...): nothing written

    return write


class History:
    """The registry's clock for the scripted writes, and the answers noted so far."""

    def __init__(self) -> None:
        self.clock = dt.datetime(2031, 1, 1, tzinfo=dt.UTC)
        self.noted: list[tuple[str, dict[str, Any]]] = []

    def tick(self) -> dt.datetime:
        self.clock += dt.timedelta(hours=1)
        return self.clock


@pytest.fixture
def history() -> History:
    return History()


async def _ask(api: Api, known_at: str | None) -> dict[str, Any]:
    return await api.data(QUESTIONS, asOf="2026-06-30", knownAt=known_at)


async def _still_answered_alike(api: Api, history: History) -> None:
    for known_at, answer in history.noted:
        # A failure's repr would hold every answer noted: name the time instead.
        assert await _ask(api, known_at) == answer, f"knownAt {known_at} answers otherwise"


# A falsifying example's repr holds the api fixture's whole query log: too large to warn about.
@pytest.mark.filterwarnings("ignore:Generating overly large repr")
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(actions=ACTIONS)
async def test_a_past_answer_never_changes(
    api: Api, database_url: str, history: History, actions: list[Action]
) -> None:
    if not history.noted:
        await write_on(database_url, history.tick(), _claim)
    for action in actions:
        await write_on(database_url, history.tick(), _write(action))
        # Asked for now, and for half an hour before this write (between two writes). An
        # answer is noted under the time it carries: a refused write leaves the clock where
        # it was, and a time past it is answered for the clock, not yet for itself.
        between = (history.clock - dt.timedelta(minutes=30)).isoformat()
        for asked in (None, between):
            answer = await _ask(api, asked)
            history.noted.append((answer["leaderboard"]["knownAt"], answer))
    await _still_answered_alike(api, history)
