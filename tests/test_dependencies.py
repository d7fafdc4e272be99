"""What an answer read and what a write touched (service.dependencies, service.db.reads): the
scopes the response cache compares, and the notifications it reads them from."""

from __future__ import annotations

import pytest

from service.db.reads import READS, Reads, record
from service.dependencies import EVERYTHING, meets, parse_payload, tables_of, union

SCORES = frozenset({"version:1", "version:2"})


def test_scopes_merge_table_by_table() -> None:
    assert union([]) == {}
    assert union([{"score": frozenset({"version:1"})}, {"score": frozenset({"version:2"})}]) == {
        "score": SCORES
    }
    assert union([{"score": SCORES}, {"score": None}, {"lab": None}]) == {
        "score": None,
        "lab": None,
    }
    assert union([{"score": None}, {"score": SCORES}]) == {"score": None}
    assert union([{"lab": None}, EVERYTHING, {"score": None}]) is EVERYTHING


def test_a_write_meets_what_read_a_row_it_wrote() -> None:
    assert meets(EVERYTHING, {"lab": None}) and meets({"lab": None}, EVERYTHING)
    assert meets({"score": SCORES}, {"score": frozenset({"version:2", "version:3"})})
    assert not meets({"score": SCORES}, {"score": frozenset({"version:3"})})
    assert meets({"score": SCORES}, {"score": None}) and meets({"score": None}, {"score": SCORES})
    assert not meets({"score": None}, {"lab": None})
    assert not meets({"score": None}, {})
    assert meets({"lab": None, "score": SCORES}, {"model": None, "score": None})


def test_a_statement_reads_the_tables_it_names() -> None:
    assert tables_of("SELECT name FROM lab WHERE id = $1") == {"lab": None}
    assert tables_of("SELECT transaction_time()") == {"transaction_clock": None}
    assert tables_of("SELECT hash FROM api_token JOIN lab ON true") is EVERYTHING
    assert tables_of("SELECT 1") == {}


@pytest.mark.parametrize(
    ("payload", "scope"),
    [
        ("lab", {"lab": None}),
        ('{"t": "score", "k": ["version:1", "version:2"]}', {"score": SCORES}),
        ('{"t": "score", "k": []}', {"score": frozenset()}),
        ("not json", EVERYTHING),
        ('["score"]', EVERYTHING),
        ('{"t": "nope", "k": ["version:1"]}', EVERYTHING),
        ('{"t": "score"}', EVERYTHING),
        ('{"t": "score", "k": "version:1"}', EVERYTHING),
        ('{"t": "score", "k": ["version:1", 2]}', EVERYTHING),
        ('{"k": ["version:1"]}', EVERYTHING),
    ],
)
def test_a_notification_names_what_it_wrote_or_everything(payload: str, scope: object) -> None:
    assert parse_payload(payload) == scope


def test_a_request_reads_what_its_statements_read_narrowed_where_vouched_for() -> None:
    reads = Reads()
    token = READS.set(reads)
    try:
        record("SELECT name FROM lab")
        record("SELECT value FROM score WHERE version_id = $1")
        record("SELECT value FROM score WHERE version_id = $1")
    finally:
        READS.reset(token)
    record("SELECT hash FROM api_token")  # outside any request: nobody records it
    assert reads.scope() == {"lab": None, "score": None}
    sql = "SELECT value FROM score WHERE version_id = $1"
    reads.narrow(sql, {"score": frozenset({"version:1"})})
    reads.narrow(sql, {"score": frozenset({"version:2"})})  # run twice, for two rows
    assert reads.scope() == {"lab": None, "score": SCORES}
    assert Reads().scope() == {}
